import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { LlmMetrics } from './llm.ts';
import { PlainCounter, PlainGauge, PlainHistogram, type Series } from './plain.ts';

/** Gauge values of `circuit_breaker_state` (the README's Metrics table): `== 0` means open, as in the original queries. */
export const STATE_GAUGE: Readonly<Record<string, number>> = Object.freeze({
  closed: 2,
  half_open: 1,
  open: 0,
  forced_open: 0,
});

type TotalKey =
  'total_requests' | 'total_successes' | 'total_failures' | 'total_timeouts' | 'total_rejections';

/** What the metrics read from a breaker at scrape time. */
export interface BreakerTotals {
  readonly name: string;
  snapshot(): Readonly<Record<TotalKey, number>> & { readonly state: string };
}

/**
 * Every metric of the README's Metrics table with exactly its name, type and labels, plus default process metrics.
 * One instance per process; the request path holds direct references (no lookups by name).
 */
export class Metrics {
  readonly registry: Registry;
  readonly breakerState: Gauge<'name'>;
  readonly breakerRequests: Counter<'name'>;
  readonly breakerSuccesses: Counter<'name'>;
  readonly breakerFailures: Counter<'name'>;
  readonly breakerTimeouts: Counter<'name'>;
  readonly breakerRejections: Counter<'name'>;
  readonly breakerTransitions: Counter<'name' | 'from' | 'to'>;
  readonly tierUsage: PlainCounter<'route' | 'tier'>;
  readonly requestDuration: PlainHistogram<'route' | 'tier' | 'status'>;
  readonly upstreamFirstByte: PlainHistogram<'upstream'>;
  readonly inflight: PlainGauge<'route'>;
  readonly configReloads: Counter<'result'>;
  /** LLM calls refused because the request bodies held at once reached `limits.maxBufferedBytes`. */
  readonly bufferFull: Counter;
  /** Source of `breakwater_buffered_request_bytes`, read at scrape time. */
  #buffered: () => number = () => 0;
  /** Tokens and token latency (README "Metrics"). */
  readonly llm: LlmMetrics;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
      new Counter({ name, help, labelNames, registers });
    this.breakerState = new Gauge({
      name: 'circuit_breaker_state',
      help: 'Breaker state: 2 closed, 1 half-open, 0 open (forced open included)',
      labelNames: ['name'],
      registers,
    });
    this.breakerRequests = counter('circuit_breaker_requests_total', 'Calls admitted by the breaker', [
      'name',
    ]);
    this.breakerSuccesses = counter('circuit_breaker_successes_total', 'Calls that succeeded', ['name']);
    this.breakerFailures = counter('circuit_breaker_failures_total', 'Calls that failed', ['name']);
    this.breakerTimeouts = counter('circuit_breaker_timeouts_total', 'Calls that timed out (also failures)', [
      'name',
    ]);
    this.breakerRejections = counter('circuit_breaker_rejections_total', 'Calls the breaker refused', [
      'name',
    ]);
    this.breakerTransitions = counter('circuit_breaker_transitions_total', 'Breaker state changes', [
      'name',
      'from',
      'to',
    ]);
    // The request path's own metrics: plain numbers, published when scraped (metrics/plain.ts).
    const registry = this.registry;
    this.tierUsage = new PlainCounter({
      name: 'fallback_chain_tier_usage_total',
      help: 'Requests answered by each tier',
      labelNames: ['route', 'tier'],
      registry,
    });
    this.requestDuration = new PlainHistogram({
      name: 'breakwater_request_duration_seconds',
      help: 'Proxied request duration, to the end of the answer',
      labelNames: ['route', 'tier', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registry,
    });
    this.upstreamFirstByte = new PlainHistogram({
      name: 'breakwater_upstream_first_byte_seconds',
      help: 'Time from dispatch to the first token (first event, or whole body) per upstream',
      labelNames: ['upstream'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registry,
    });
    this.inflight = new PlainGauge({
      name: 'breakwater_inflight_requests',
      help: 'Requests in flight on the proxy listener',
      labelNames: ['route'],
      registry,
    });
    this.llm = new LlmMetrics(this.registry);
    this.configReloads = counter('breakwater_config_reloads_total', 'Policy reloads by result', ['result']);
    // Both series exist from the start, so `increase(...{result="failure"}[5m]) > 0` alerts work at once.
    this.configReloads.inc({ result: 'success' }, 0);
    this.configReloads.inc({ result: 'failure' }, 0);
    this.bufferFull = counter(
      'breakwater_buffer_full_total',
      'LLM calls refused with 503: request body budget full',
      [],
    );
    const buffered = (): number => this.#buffered();
    new Gauge({
      name: 'breakwater_buffered_request_bytes',
      help: 'Bytes of LLM request bodies held now (limits.maxBufferedBytes bounds them)',
      registers,
      collect() {
        this.set(buffered());
      },
    });
  }

  /** Binds `breakwater_buffered_request_bytes` to the proxy's body budget (read at scrape time). */
  bindBuffered(source: () => number): void {
    this.#buffered = source;
  }

  /** Records one answered request. */
  answered(route: string, tier: string, status: number, seconds: number): void {
    this.tierUsage.of({ route, tier }).inc();
    this.requestDuration.of({ route, tier, status: String(status) }).observe(seconds);
  }

  /** Records an upstream's time to first token. */
  firstByte(upstream: string, seconds: number): void {
    this.upstreamFirstByte.of({ upstream }).observe(seconds);
  }

  /** The in-flight gauge of a route. */
  inflightOf(route: string): Series {
    return this.inflight.of({ route });
  }

  /**
   * Breaker counters are read from the breakers at scrape time (no work per request): each scrape
   * adds what a breaker's totals grew by since the last one.
   */
  bindBreakers(source: () => Iterable<BreakerTotals>): void {
    const seen = new Map<object, Record<TotalKey, number>>();
    const pairs: ReadonlyArray<readonly [TotalKey, Counter<'name'>]> = [
      ['total_requests', this.breakerRequests],
      ['total_successes', this.breakerSuccesses],
      ['total_failures', this.breakerFailures],
      ['total_timeouts', this.breakerTimeouts],
      ['total_rejections', this.breakerRejections],
    ];
    this.#syncBreakers = () => {
      for (const b of source()) {
        const snap = b.snapshot();
        const last = seen.get(b) ?? {
          total_requests: 0,
          total_successes: 0,
          total_failures: 0,
          total_timeouts: 0,
          total_rejections: 0,
        };
        for (const [key, counter] of pairs) {
          const delta = snap[key] - last[key];
          if (delta > 0) counter.inc({ name: b.name }, delta);
          else if (!seen.has(b)) counter.inc({ name: b.name }, 0);
          last[key] = snap[key];
        }
        seen.set(b, last);
        this.breakerState.set({ name: b.name }, STATE_GAUGE[snap.state] ?? 0);
      }
    };
  }

  #syncBreakers: () => void = () => undefined;

  /** Records one breaker state change: `circuit_breaker_state` and `circuit_breaker_transitions_total`. */
  recordTransition(t: { readonly name: string; readonly from: string; readonly to: string }): void {
    this.breakerState.set({ name: t.name }, STATE_GAUGE[t.to] ?? 0);
    this.breakerTransitions.inc({ name: t.name, from: t.from, to: t.to });
  }

  /** Prometheus text exposition. */
  async text(): Promise<string> {
    this.#syncBreakers();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
