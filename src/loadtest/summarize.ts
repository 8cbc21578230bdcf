import {
  ErrorKind,
  NO_TIER,
  type FirstByteStats,
  type LatencyStats,
  type Sample,
  type Summary,
  type TierCount,
} from './types.ts';

/** Rounds to `digits` decimals. */
function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * The nearest-rank percentile `p` (0 < p ≤ 100) of `sorted` (ascending, non-empty): the smallest
 * value with at least p % of the values at or below it.
 */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

function ascending(values: number[]): number[] {
  return values.sort((a, b) => a - b);
}

/** Counts by key, most frequent first (ties in order of first appearance). */
function countBy(keys: readonly string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

function latencyStats(values: number[]): LatencyStats | null {
  if (values.length === 0) return null;
  const s = ascending(values);
  return {
    p50: round(percentile(s, 50), 3),
    p90: round(percentile(s, 90), 3),
    p99: round(percentile(s, 99), 3),
    max: round(s[s.length - 1]!, 3),
  };
}

function firstByteStats(values: number[]): FirstByteStats | null {
  if (values.length === 0) return null;
  const s = ascending(values);
  return { p50: round(percentile(s, 50), 3), p99: round(percentile(s, 99), 3) };
}

/**
 * Summarizes the samples of a run: counts, tiers (share of all requests), statuses, errors by
 * kind and latency percentiles. Pure. `durationMs` is the run's wall time; default the span of
 * the samples (latest end; runs start at 0).
 */
export function summarize(samples: readonly Sample[], durationMs?: number): Summary {
  const requests = samples.length;
  const answered = samples.filter((s) => s.status !== null);
  const duration = durationMs ?? samples.reduce((m, s) => Math.max(m, s.startMs + s.latencyMs), 0);
  const byTier: Record<string, TierCount> = {};
  for (const [tier, count] of countBy(answered.map((s) => s.tier ?? NO_TIER))) {
    byTier[tier] = { count, pct: round((count / requests) * 100, 1) };
  }
  const byStatus: Record<string, number> = {};
  for (const [status, count] of countBy(answered.map((s) => String(s.status))).sort(
    (a, b) => Number(a[0]) - Number(b[0]),
  )) {
    byStatus[status] = count;
  }
  const errorsByKind: Partial<Record<ErrorKind, number>> = {};
  const failed = samples.filter((s) => s.error !== null);
  for (const [kind, count] of countBy(failed.map((s) => s.error!))) errorsByKind[kind as ErrorKind] = count;
  const firstBytes = samples.flatMap((s) => (s.firstByteMs === null ? [] : [s.firstByteMs]));
  return {
    requests,
    sent: samples.filter((s) => s.error !== ErrorKind.CONNECT).length,
    responses: answered.length,
    ok: requests - failed.length,
    errors: failed.length,
    durationMs: round(duration, 1),
    requestsPerSecond: duration > 0 ? round((requests / duration) * 1000, 1) : 0,
    byTier,
    byStatus,
    errorsByKind,
    latencyMs: latencyStats(answered.map((s) => s.latencyMs)),
    firstByteMs: firstByteStats(firstBytes),
  };
}
