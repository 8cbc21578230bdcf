import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { FleetContext } from './context.ts';
import { applyForced, applyReset } from './decide.ts';
import type { UpstreamLink } from './link.ts';
import type { FleetCommand } from './messages.ts';

/** What a fleet-wide command did. */
export interface FleetCommandResult {
  readonly group: string;
  readonly upstream: string;
  readonly action: 'open' | 'reset';
  /** Who asked. */
  readonly by: string;
  /** The pod whose admin API took it. */
  readonly via: string;
}

function unavailable(): BreakwaterError {
  return new BreakwaterError(
    ErrorCode.FLEET_UNAVAILABLE,
    'the fleet store is down: a fleet-wide command cannot reach the group (each pod runs on its local breakers)',
  );
}

/**
 * An operator's command for every pod of the group, in one transaction: `open` stores the forced
 * open (so pods that start later apply it too) and announces it; `reset` clears the upstream's
 * forced, open, streak and probe state and announces it. This pod applies it at once; the others
 * on the channel, or at their next heartbeat if they missed it. Throws `BW_ERR_FLEET_UNAVAILABLE`
 * while the store is down.
 */
export async function sendCommand(
  ctx: FleetContext,
  link: UpstreamLink,
  action: 'open' | 'reset',
  by: string,
  reason: string | null,
): Promise<FleetCommandResult> {
  const { store, keys: k, podId, policy } = ctx;
  const u = link.name;
  if (!store.up) throw unavailable();
  const cmd: FleetCommand = { by, via: podId, reason, at: ctx.clock.now() };
  const m = store.sync.multi();
  if (action === 'open') m.set(k.forced(u), JSON.stringify(cmd));
  else m.del(k.forced(u), k.open(u), k.streak(u), k.probe(u));
  m.publish(k.channel, JSON.stringify({ t: action === 'open' ? 'forced' : 'reset', u, command: cmd }));
  try {
    await m.exec();
  } catch (err) {
    store.markDown('command', err);
    throw unavailable();
  }
  // Its own event, when it comes back, changes nothing more.
  if (action === 'open') applyForced(link, cmd);
  else applyReset(link, cmd);
  ctx.logger.warn({ breaker: u, action, by, group: policy.group }, `fleet-wide ${action} of ${u}`);
  return { group: policy.group, upstream: u, action, by, via: podId };
}
