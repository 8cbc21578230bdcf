import type { Clock, TimerHandle } from '../clock/index.ts';
import type { Metrics } from '../metrics/index.ts';
import { quantileOfDelta, type Buckets } from './quantile.ts';
import { Ring } from './ring.ts';

/** Width of one history bucket, ms (docs/operations.md#history). */
export const HISTORY_BUCKET_MS = 10_000;
/** Buckets kept: 90 × 10 s = the last 15 minutes. */
export const HISTORY_BUCKETS = 90;

/** One breaker during one bucket. */
export interface BreakerSample {
  /** State at the end of the bucket. */
  readonly state: string;
  /** The worst state it was in during the bucket (open > half_open > closed). */
  readonly worst: string;
  /** Times it opened (or was forced open) during the bucket. */
  readonly trips: number;
}

/** First-token time of one upstream over one bucket, seconds; null when it answered nothing. */
export interface FirstTokenSample {
  readonly p50: number | null;
  readonly p99: number | null;
  readonly count: number;
}

/** What happened during one bucket. Counts are of that bucket alone, summed over routes. */
export interface HistoryBucket {
  /** End of the bucket, ms since the epoch. */
  readonly at_ms: number;
  readonly breakers: Readonly<Record<string, BreakerSample>>;
  /** Answers per tier (`none` = the final 503). */
  readonly tiers: Readonly<Record<string, number>>;
  readonly first_token_seconds: Readonly<Record<string, FirstTokenSample>>;
  /** Tokens per tier, every kind together. */
  readonly tokens: Readonly<Record<string, number>>;
}

/** `GET /history`. */
export interface HistoryView {
  readonly bucket_seconds: number;
  readonly capacity: number;
  readonly buckets: readonly HistoryBucket[];
}

/** What the recorder reads a breaker's state from. */
export interface StateSource {
  readonly name: string;
  readonly state: string;
}

const RANK: Readonly<Record<string, number>> = { closed: 0, half_open: 1, open: 2, forced_open: 2 };
const worse = (a: string, b: string): string => ((RANK[b] ?? 0) > (RANK[a] ?? 0) ? b : a);

/** Sums a counter's values by one label, from its cumulative values. */
async function sumBy(
  metric: Metrics['tierUsage'] | Metrics['llm']['tokens'],
  label: string,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await metric.get()).values) {
    const key = String(v.labels[label as never]);
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}

function delta(now: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of now) out[k] = Math.max(0, v - (before.get(k) ?? 0));
  return out;
}

/**
 * The in-process history behind `GET /history` and the page's charts: every
 * {@link HISTORY_BUCKET_MS} it reads the cumulative metrics and the breakers (off the request
 * path: nothing is recorded per request) and keeps the bucket's differences in a ring of
 * {@link HISTORY_BUCKETS}. Transitions between samples are noted so a breaker that opened and
 * closed within one bucket still shows its trip.
 */
export class HistoryRecorder {
  readonly #metrics: Metrics;
  readonly #breakers: () => Iterable<StateSource>;
  readonly #clock: Clock;
  readonly #bucketMs: number;
  readonly #ring: Ring<HistoryBucket>;
  #worst = new Map<string, string>();
  #trips = new Map<string, number>();
  #tiers = new Map<string, number>();
  #tokens = new Map<string, number>();
  #firstByte = new Map<string, Buckets>();
  #timer: TimerHandle | null = null;
  #sampling = false;

  constructor(
    metrics: Metrics,
    breakers: () => Iterable<StateSource>,
    clock: Clock,
    options: { bucketMs?: number; capacity?: number } = {},
  ) {
    this.#metrics = metrics;
    this.#breakers = breakers;
    this.#clock = clock;
    this.#bucketMs = options.bucketMs ?? HISTORY_BUCKET_MS;
    this.#ring = new Ring(options.capacity ?? HISTORY_BUCKETS);
  }

  /** Starts sampling every bucket (the timer is unref'd by the system clock). */
  start(): void {
    if (this.#timer !== null) return;
    const tick = (): void => {
      this.#timer = this.#clock.setTimeout(tick, this.#bucketMs);
      void this.sample();
    };
    this.#timer = this.#clock.setTimeout(tick, this.#bucketMs);
    void this.#baseline();
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Notes a breaker state change (called on transitions, never per request). */
  noteTransition(t: { readonly name: string; readonly from: string; readonly to: string }): void {
    this.#worst.set(t.name, worse(this.#worst.get(t.name) ?? t.from, t.to));
    if (t.to === 'open' || t.to === 'forced_open')
      this.#trips.set(t.name, (this.#trips.get(t.name) ?? 0) + 1);
  }

  /** Reads the cumulative values a first bucket is measured from. */
  async #baseline(): Promise<void> {
    this.#tiers = await sumBy(this.#metrics.tierUsage, 'tier');
    this.#tokens = await sumBy(this.#metrics.llm.tokens, 'tier');
    this.#firstByte = await this.#firstByteBuckets();
  }

  async #firstByteBuckets(): Promise<Map<string, Buckets>> {
    const out = new Map<string, Map<number, number>>();
    for (const v of (await this.#metrics.upstreamFirstByte.get()).values) {
      if (v.metricName?.endsWith('_bucket') !== true) continue;
      const up = String(v.labels.upstream);
      const raw = (v.labels as Record<string, string | number | undefined>).le;
      const le = raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw);
      let m = out.get(up);
      if (m === undefined) out.set(up, (m = new Map<number, number>()));
      m.set(le, v.value);
    }
    return out;
  }

  /** Closes the current bucket: reads the metrics and the breakers, keeps the differences. */
  async sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const breakers: Record<string, BreakerSample> = {};
      for (const b of this.#breakers()) {
        breakers[b.name] = {
          state: b.state,
          worst: worse(this.#worst.get(b.name) ?? b.state, b.state),
          trips: this.#trips.get(b.name) ?? 0,
        };
      }
      this.#worst = new Map();
      this.#trips = new Map();
      const tiers = await sumBy(this.#metrics.tierUsage, 'tier');
      const tokens = await sumBy(this.#metrics.llm.tokens, 'tier');
      const firstByte = await this.#firstByteBuckets();
      const firstToken: Record<string, FirstTokenSample> = {};
      for (const [up, buckets] of firstByte) {
        const before = this.#firstByte.get(up);
        const inf = Number.POSITIVE_INFINITY;
        firstToken[up] = {
          p50: quantileOfDelta(0.5, buckets, before),
          p99: quantileOfDelta(0.99, buckets, before),
          count: (buckets.get(inf) ?? 0) - (before?.get(inf) ?? 0),
        };
      }
      this.#ring.push({
        at_ms: this.#clock.now(),
        breakers,
        tiers: delta(tiers, this.#tiers),
        first_token_seconds: firstToken,
        tokens: delta(tokens, this.#tokens),
      });
      this.#tiers = tiers;
      this.#tokens = tokens;
      this.#firstByte = firstByte;
    } finally {
      this.#sampling = false;
    }
  }

  /** The buckets kept, oldest first. */
  view(): HistoryView {
    return {
      bucket_seconds: this.#bucketMs / 1000,
      capacity: this.#ring.capacity,
      buckets: this.#ring.toArray(),
    };
  }
}
