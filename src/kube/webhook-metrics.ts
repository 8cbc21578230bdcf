import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How a review ended; the `result` label of `breakwater_webhook_reviews_total`. */
export const ReviewResult = {
  /** The pod got the sidecar (a patch was sent). */
  INJECTED: 'injected',
  /** The pod already had the sidecar or the marker annotation: no patch. */
  ALREADY_INJECTED: 'already_injected',
  /** Opted out (`breakwater.io/inject: "false"`), or not opted in on `/mutate/annotated`: no patch. */
  SKIPPED: 'skipped',
  /** A review or pod the webhook cannot work on (malformed, too large, not a Pod CREATE, bad annotation): no patch, a warning. */
  INVALID: 'invalid',
  /** A bug: no patch, a warning, an error in the log. */
  ERROR: 'error',
} as const;
export type ReviewResult = (typeof ReviewResult)[keyof typeof ReviewResult];

/**
 * The webhook's metrics, served on its own `/metrics` (plus default process metrics):
 * `breakwater_webhook_reviews_total{result}`, `breakwater_webhook_patch_duration_seconds`,
 * `breakwater_webhook_certificate_reloads_total{result}` and
 * `breakwater_webhook_certificate_expiry_timestamp_seconds`.
 */
export class WebhookMetrics {
  readonly registry: Registry;
  readonly #reviews: Readonly<Record<ReviewResult, { inc(): void }>>;
  readonly #patchSeconds: Histogram;
  readonly #reloads: Readonly<Record<'success' | 'failure', { inc(): void }>>;
  readonly #expiry: Gauge;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const reviews = new Counter({
      name: 'breakwater_webhook_reviews_total',
      help: 'AdmissionReviews answered, by result (every answer allows the pod)',
      labelNames: ['result'],
      registers,
    });
    // Every series exists from the start, so rate() and alerts on them work at once.
    this.#reviews = Object.fromEntries(
      Object.values(ReviewResult).map((result) => {
        reviews.inc({ result }, 0);
        return [result, reviews.labels({ result })];
      }),
    ) as Record<ReviewResult, Counter>;
    this.#patchSeconds = new Histogram({
      name: 'breakwater_webhook_patch_duration_seconds',
      help: 'Time from a review body received to its answer ready (parse, rewrite, diff)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    const reloads = new Counter({
      name: 'breakwater_webhook_certificate_reloads_total',
      help: 'Reloads of the serving certificate after its files changed, by result',
      labelNames: ['result'],
      registers,
    });
    reloads.inc({ result: 'success' }, 0);
    reloads.inc({ result: 'failure' }, 0);
    this.#reloads = {
      success: reloads.labels({ result: 'success' }),
      failure: reloads.labels({ result: 'failure' }),
    };
    this.#expiry = new Gauge({
      name: 'breakwater_webhook_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the certificate being served (Unix seconds)',
      registers,
    });
  }

  /** Records one answered review and the time it took. */
  reviewed(result: ReviewResult, seconds: number): void {
    this.#reviews[result].inc();
    this.#patchSeconds.observe(seconds);
  }

  /** Records a certificate reload; `notAfterMs` of the certificate now served when it succeeded. */
  certificateReloaded(ok: boolean, notAfterMs?: number): void {
    this.#reloads[ok ? 'success' : 'failure'].inc();
    if (notAfterMs !== undefined) this.certificateServed(notAfterMs);
  }

  /** Sets the expiry gauge to the served certificate's notAfter. */
  certificateServed(notAfterMs: number): void {
    this.#expiry.set(Math.floor(notAfterMs / 1000));
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
