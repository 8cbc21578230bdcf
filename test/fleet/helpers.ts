import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { CircuitBreaker, type Transition } from '../../src/breaker/index.ts';
import { ManualClock, systemClock } from '../../src/clock/index.ts';
import { FleetAgent, type FleetBudget } from '../../src/fleet/index.ts';
import { silentLogger, type Logger } from '../../src/log/index.ts';
import { parsePolicy, type Policy } from '../../src/policy/index.ts';

/** A unique group per test: tests share one Redis and must not see each other. */
export function groupName(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

/** A policy with `max-gpu` (threshold 3, recovery 10 s, no jitter) and `ollama-cpu` (budget 2). */
export function fleetPolicy(
  redisUrl: string,
  group: string,
  pod: string,
  fleet: Record<string, string> = {},
): Policy {
  const keys = { heartbeat: '200ms', leaseTtl: '1s', commandTimeout: '500ms', window: '30s', ...fleet };
  return parsePolicy(
    `
upstreams:
  max-gpu:
    url: http://127.0.0.1:1
    breaker: { failureThreshold: 3, recoveryTimeout: 10s, successThreshold: 2, jitter: 0 }
  ollama-cpu:
    url: http://127.0.0.1:2
    fleetMaxConcurrent: 2
fleet:
  redis: ${redisUrl}
  group: ${group}
  podId: ${pod}
${Object.entries(keys)
  .map(([k, v]) => `  ${k}: ${v}`)
  .join('\n')}
`,
    { file: null, env: {} },
  );
}

/** One pod in-process: its agent, its breakers on a manual clock, and its budgets. */
export interface Pod {
  readonly name: string;
  readonly agent: FleetAgent;
  readonly clock: ManualClock;
  readonly max: CircuitBreaker;
  readonly ollama: CircuitBreaker;
  readonly budget: FleetBudget;
  readonly registry: Registry;
  /** Transitions of `max`, oldest first. */
  readonly transitions: Transition[];
}

/** Starts a pod's agent and binds fresh breakers to it (time of the breakers: a manual clock). */
export async function startPod(policy: Policy, logger: Logger = silentLogger()): Promise<Pod> {
  const registry = new Registry();
  const agent = await FleetAgent.start({
    policy: policy.fleet!,
    podId: policy.fleet!.podId!,
    upstreams: policy.upstreams,
    clock: systemClock,
    logger,
    registry,
  });
  const clock = new ManualClock(Date.now());
  const [maxPolicy, ollamaPolicy] = policy.upstreams;
  const transitions: Transition[] = [];
  const max = new CircuitBreaker('max-gpu', maxPolicy!.breaker, {
    clock,
    random: () => 0,
    onTransition: (t) => transitions.push(t),
  });
  const ollama = new CircuitBreaker('ollama-cpu', ollamaPolicy!.breaker, { clock, random: () => 0 });
  agent.bind(max, maxPolicy!);
  const budget = agent.bind(ollama, ollamaPolicy!)!;
  return { name: policy.fleet!.podId!, agent, clock, max, ollama, budget, registry, transitions };
}

/** `n` failed calls through a breaker. */
export function fail(b: CircuitBreaker, n: number): void {
  for (let i = 0; i < n; i++) {
    const p = b.tryAcquire();
    if (p === null) throw new Error(`${b.name} rejected while ${b.state}`);
    b.failure(p, { kind: 'timeout', message: 'no first token within 300ms' });
  }
}

/** `n` successful calls through a breaker. */
export function succeed(b: CircuitBreaker, n: number): void {
  for (let i = 0; i < n; i++) {
    const p = b.tryAcquire();
    if (p === null) throw new Error(`${b.name} rejected while ${b.state}`);
    b.success(p);
  }
}

/** The value of one sample of a metric in a registry (0 when absent). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const data = await metric.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}
