import type { FleetContext } from './context.ts';
import { reconcile } from './decide.ts';
import type { UpstreamLink } from './link.ts';
import type { FleetPipeline } from './store.ts';
import type { PodView } from './view.ts';

/**
 * One heartbeat, one round trip: this pod's view and membership out (the view expires after 3
 * heartbeats), the group's streaks, open, forced and last recovery of every upstream in. Marks the store
 * up or down; repairs what missed events left (`reconcile`).
 */
export async function heartbeat(
  ctx: FleetContext,
  links: readonly UpstreamLink[],
  view: PodView,
): Promise<void> {
  const k = ctx.keys;
  const p = ctx.store.sync.pipeline() as FleetPipeline;
  p.bwHeartbeat(k.pods, k.pod(ctx.podId), ctx.podId, JSON.stringify(view), 3 * ctx.policy.heartbeatMs);
  for (const l of links) {
    p.hgetall(k.streak(l.name)).get(k.open(l.name)).get(k.forced(l.name)).get(k.recovered(l.name));
  }
  let results: [Error | null, unknown][] | null;
  try {
    results = await p.exec();
  } catch (err) {
    ctx.store.markDown('heartbeat', err);
    return;
  }
  const failed = results?.find(([e]) => e !== null);
  if (!results || failed !== undefined) {
    ctx.store.markDown('heartbeat', failed?.[0] ?? new Error('no reply'));
    return;
  }
  ctx.store.markUp();
  const [nowAt, members] = results[0]![1] as [number, number];
  ctx.metrics.peers.set(members);
  links.forEach((link, i) => {
    link.budget?.resume();
    const at = 1 + 4 * i;
    reconcile(ctx, link, nowAt, {
      streak: results[at]![1],
      open: results[at + 1]![1],
      forced: results[at + 2]![1],
      recovered: results[at + 3]![1],
    });
  });
}
