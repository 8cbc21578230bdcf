import type { Clock } from '../clock/index.ts';
import type { FleetAgent } from '../fleet/index.ts';
import type { Logger } from '../log/index.ts';
import type { Metrics } from '../metrics/index.ts';
import type { Policy } from '../policy/index.ts';
import type { UpstreamSet } from '../upstream/index.ts';

/**
 * Starts the fleet agent of a policy with `fleet:` (docs/fleet.md). The fleet module and ioredis
 * are loaded only here: without `fleet:` nothing of it is loaded, connected or scheduled.
 * Resolves once the group's state has been read (or the store found down), so the first
 * generation is built informed.
 */
export async function startFleet(
  policy: Policy,
  clock: Clock,
  logger: Logger,
  metrics: Metrics,
): Promise<FleetAgent> {
  const fleet = policy.fleet!;
  if (fleet.podId === null)
    throw new Error('fleet.podId is not set (breakwater run fills it from $POD_NAME or the hostname)');
  const { FleetAgent } = await import('../fleet/index.ts');
  return FleetAgent.start({
    policy: fleet,
    podId: fleet.podId,
    upstreams: policy.upstreams,
    clock,
    logger: logger.child({ fleet: fleet.group, pod: fleet.podId }),
    registry: metrics.registry,
  });
}

/** Binds the breakers of a new generation to the agent and gives each upstream its fleet budget. */
export function bindFleet(agent: FleetAgent, upstreams: UpstreamSet): void {
  for (const runtime of upstreams.byName.values()) {
    runtime.fleetBudget = agent.bind(runtime.breaker, runtime.policy);
  }
  agent.retain(new Set(upstreams.byName.keys()));
}

/** A reload that changes `fleet:` is applied at the next restart: the pods of a group must agree. */
export function warnFleetChange(before: Policy, after: Policy, logger: Logger): void {
  if (JSON.stringify(before.fleet) === JSON.stringify(after.fleet)) return;
  logger.warn(
    'the fleet section changed: it takes effect at the next restart (upstream fleetMaxConcurrent applies now)',
  );
}
