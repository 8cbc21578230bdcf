/** Cumulative bucket counts of a Prometheus histogram: upper bound (`+Inf` last) → count ≤ bound. */
export type Buckets = ReadonlyMap<number, number>;

/**
 * The q-quantile of the observations a histogram gained between two readings, interpolated
 * linearly inside the bucket as PromQL's `histogram_quantile` does; null when nothing was observed.
 * An answer in the `+Inf` bucket is the largest finite bound.
 */
export function quantileOfDelta(q: number, now: Buckets, before: Buckets | undefined): number | null {
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (now.get(b) ?? 0) - (before?.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i]!;
    const c = counts[i]!;
    if (c >= rank) {
      if (upper === Number.POSITIVE_INFINITY) return lower;
      const inBucket = c - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    lower = upper;
    below = c;
  }
  return lower;
}
