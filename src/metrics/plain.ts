import type { Metric, Registry } from 'prom-client';

/**
 * Counters, gauges and histograms of the request path kept as plain numbers and published only
 * when scraped. prom-client's labelled children validate and hash their label object on every
 * `inc`/`observe` (0.3–0.8 µs each, several per answer); here the request path holds a series
 * once looked up and adds to a field. The registry sees them as its own metrics: `get()` returns
 * what prom-client's metrics return, so the exposition text is the same byte for byte.
 */

type Labels<L extends string> = Readonly<Record<L, string>>;

interface Exported {
  readonly labels: Record<string, string | number>;
  readonly sharedLabels?: Record<string, string>;
  readonly value: number;
  readonly metricName?: string;
}

interface MetricData {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly values: Exported[];
  readonly aggregator: 'sum';
}

/** One series of a counter or gauge. */
export class Series {
  value = 0;

  inc(v = 1): void {
    this.value += v;
  }

  dec(v = 1): void {
    this.value -= v;
  }
}

/** One series of a histogram: per-bucket counts (not cumulative), sum and count. */
export class HistogramSeries {
  readonly #bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  /** Counts `v` in the first bucket whose bound is ≥ it (as prom-client); not a finite number: ignored. */
  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    if (i < b.length) this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

interface Options<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registry: Registry;
}

/** What the three kinds share: label sets → series, registration, `reset`. */
abstract class PlainMetric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly aggregator = 'sum';
  abstract readonly type: MetricData['type'];
  /** Every series with its labels, in creation order (what a scrape reads). */
  protected readonly series: { readonly labels: Labels<L>; readonly s: S }[] = [];
  /** Label value → next level, one level per label name; the last level holds the series. */
  #root = new Map<string, unknown>();

  constructor(o: Options<L>) {
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames;
    // The registry reads a metric through `name`, `type`, `get`/`getForPromString` and `reset`.
    o.registry.registerMetric(this as unknown as Metric);
  }

  protected abstract create(): S;

  /**
   * The series of a label set, created at 0 the first time. One `Map` lookup per label and no
   * string built: a label value's hash is computed once per string and kept by V8.
   */
  of(labels: Labels<L>): S {
    const names = this.labelNames;
    let level = this.#root;
    const last = names.length - 1;
    for (let i = 0; i < last; i++) {
      const v = labels[names[i]!];
      let next = level.get(v) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(v, (next = new Map<string, unknown>()));
      level = next;
    }
    const v = last < 0 ? '' : labels[names[last]!];
    let s = level.get(v) as S | undefined;
    if (s === undefined) {
      const copy = {} as Record<L, string>;
      for (const n of names) copy[n] = String(labels[n]);
      level.set(v, (s = this.create()));
      this.series.push({ labels: copy, s });
    }
    return s;
  }

  /** What the registry reads: this metric with `values`. */
  protected publish(values: Exported[]): Promise<MetricData> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  reset(): void {
    this.series.length = 0;
    this.#root = new Map<string, unknown>();
  }
}

abstract class PlainValueMetric<L extends string> extends PlainMetric<L, Series> {
  protected create(): Series {
    return new Series();
  }

  /** Adds `v` to a label set's series (a startup or rare path; the request path holds its series). */
  inc(labels: Labels<L>, v = 1): void {
    this.of(labels).inc(v);
  }

  get(): Promise<MetricData> {
    const values: Exported[] = [];
    for (const { labels, s } of this.series) values.push({ labels: { ...labels }, value: s.value });
    return this.publish(values);
  }
}

/** A counter: series only grow. */
export class PlainCounter<L extends string> extends PlainValueMetric<L> {
  readonly type = 'counter';
}

/** A gauge: series go up and down. */
export class PlainGauge<L extends string> extends PlainValueMetric<L> {
  readonly type = 'gauge';
}

/** A histogram with fixed bucket bounds (ascending). */
export class PlainHistogram<L extends string> extends PlainMetric<L, HistogramSeries> {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];

  constructor(o: Options<L> & { readonly buckets: readonly number[] }) {
    super(o);
    this.#bounds = [...o.buckets].sort((a, b) => a - b);
  }

  protected create(): HistogramSeries {
    return new HistogramSeries(this.#bounds);
  }

  /** As prom-client's: bucket `le` labels first, the series' labels shared. */
  getForPromString(): Promise<MetricData> {
    const values: Exported[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, s } of this.series) {
      const shared = { ...labels } as Record<string, string>;
      let acc = 0;
      this.#bounds.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ labels: { le }, sharedLabels: shared, value: acc, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: s.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: shared, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: s.count, metricName: `${this.name}_count` });
    }
    return this.publish(values);
  }

  /** As prom-client's: each value's labels hold the series' labels and `le`. */
  async get(): Promise<MetricData> {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ labels, sharedLabels, value, metricName }) => ({
        labels: { ...labels, ...sharedLabels },
        value,
        ...(metricName === undefined ? {} : { metricName }),
      })),
    };
  }
}
