import type { Metrics } from '../metrics/index.ts';
import type { Policy, TierPolicy } from '../policy/index.ts';

/** Label of the `tier` a request got when no tier could answer (the final 503). */
export const NO_TIER = 'none';

/** The `tier` label of a chain entry: the upstream's name, `cache` or `degraded`. */
export function tierLabel(tier: TierPolicy): string {
  return tier.kind === 'upstream' ? tier.upstream : tier.kind;
}

/**
 * Requests answered by each tier of each route since start, read from
 * `fallback_chain_tier_usage_total`: `{ chat: { "max-gpu": 10, "ollama-cpu": 2, cache: 0, degraded: 0, none: 0 } }`.
 * Tiers appear in chain order, every tier of the active policy included (0 when unused); tiers
 * only an earlier policy had follow.
 */
export async function tierUsage(
  policy: Policy,
  metrics: Metrics,
): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const route of policy.routes) {
    const tiers: Record<string, number> = {};
    for (const t of route.chain) tiers[tierLabel(t)] = 0;
    tiers[NO_TIER] = 0;
    out[route.name] = tiers;
  }
  const { values } = await metrics.tierUsage.get();
  for (const v of values) {
    const route = String(v.labels.route);
    const tier = String(v.labels.tier);
    const tiers = (out[route] ??= {});
    tiers[tier] = (tiers[tier] ?? 0) + v.value;
  }
  return out;
}
