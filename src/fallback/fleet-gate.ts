import type { BudgetLease, UpstreamRuntime } from '../upstream/index.ts';

/**
 * The fleet-budget hook of an upstream tier with `fleetMaxConcurrent` (docs/fleet.md): one lease
 * per call, taken where `maxConcurrent` is checked and released when the call ends. Returns the
 * lease; null when the store did not answer within `fleet.commandTimeout` (the local limit alone
 * applies) or when the breaker will reject the call anyway (no round trip for it); or the skip
 * reason: `fleet-busy` (the group's budget is used up), `saturated` (the local limit filled while
 * waiting).
 */
export async function admitFleet(
  up: UpstreamRuntime,
): Promise<BudgetLease | null | 'fleet-busy' | 'saturated'> {
  if (!up.breaker.isAvailable()) return null;
  const got = await up.fleetBudget!.acquire();
  if (got === 'busy') return 'fleet-busy';
  if (got === 'local') return null;
  if (up.inflight >= up.policy.maxConcurrent) {
    got.release();
    return 'saturated';
  }
  return got;
}
