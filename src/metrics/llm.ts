import type { Registry } from 'prom-client';
import { PlainCounter, PlainHistogram, type HistogramSeries, type Series } from './plain.ts';

/** `kind` values of `breakwater_tokens_total`. */
export const TokenKind = {
  PROMPT: 'prompt',
  COMPLETION: 'completion',
  /** Stream events counted as tokens: an OpenAI stream that reported no usage (docs/operations.md#tokens). */
  COMPLETION_ESTIMATE: 'completion_estimate',
} as const;
export type TokenKind = (typeof TokenKind)[keyof typeof TokenKind];

/**
 * Distinct `model` label values kept; later ones are counted as `other`. The model comes from the
 * client's request, so the bound keeps a caller from growing the registry without end.
 */
export const MAX_MODEL_LABELS = 64;
/** Longest `model` label value, in characters; a longer name is cut. */
export const MAX_MODEL_CHARS = 128;
/** The `model` label past {@link MAX_MODEL_LABELS}, and for a request that named none. */
export const OTHER_MODEL = 'other';

/** Tokens of one answer as the request path saw them (all counts ≥ 0; null = not reported). */
export interface AnswerTokens {
  readonly prompt: number | null;
  readonly completion: number | null;
  /** Events of a stream that reported no completion count; 0 otherwise. */
  readonly estimatedCompletion: number;
}

/**
 * The LLM metrics (README "Metrics"): tokens by route, tier, model and kind; answers without
 * usable usage; inter-token latency and output tokens per second by tier. Plain numbers,
 * published when scraped (metrics/plain.ts).
 */
export class LlmMetrics {
  readonly tokens: PlainCounter<'route' | 'tier' | 'model' | 'kind'>;
  readonly usageUnknown: PlainCounter<'route' | 'tier'>;
  readonly interToken: PlainHistogram<'tier'>;
  readonly outputRate: PlainHistogram<'tier'>;
  readonly #models = new Set<string>();

  constructor(registry: Registry) {
    this.tokens = new PlainCounter({
      name: 'breakwater_tokens_total',
      help: 'Tokens upstreams reported (prompt, completion), or stream events counted as tokens (completion_estimate)',
      labelNames: ['route', 'tier', 'model', 'kind'],
      registry,
    });
    this.usageUnknown = new PlainCounter({
      name: 'breakwater_token_usage_unknown_total',
      help: 'Answers whose upstream reported no usable token usage (absent or malformed)',
      labelNames: ['route', 'tier'],
      registry,
    });
    this.interToken = new PlainHistogram({
      name: 'breakwater_inter_token_seconds',
      help: 'Time between successive reads of stream events from an upstream, per tier',
      labelNames: ['tier'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registry,
    });
    this.outputRate = new PlainHistogram({
      name: 'breakwater_output_tokens_per_second',
      help: 'Completion tokens per second of one answer, after its first token (streams) or over the call (whole answers)',
      labelNames: ['tier'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registry,
    });
  }

  /** The `model` label for a name: bounded in count and length. */
  modelLabel(model: string | null): string {
    if (model === null || model === '') return OTHER_MODEL;
    const m = model.length > MAX_MODEL_CHARS ? model.slice(0, MAX_MODEL_CHARS) : model;
    if (this.#models.has(m)) return m;
    if (this.#models.size >= MAX_MODEL_LABELS) return OTHER_MODEL;
    this.#models.add(m);
    return m;
  }

  /** Records the tokens of one answer; one with nothing reported counts as unknown. */
  answerTokens(route: string, tier: string, model: string | null, t: AnswerTokens): void {
    if (t.prompt === null && t.completion === null) this.usageUnknown.of({ route, tier }).inc();
    const label = this.modelLabel(model);
    if (t.prompt !== null) this.#token(route, tier, label, TokenKind.PROMPT).inc(t.prompt);
    if (t.completion !== null) this.#token(route, tier, label, TokenKind.COMPLETION).inc(t.completion);
    else if (t.estimatedCompletion > 0) {
      this.#token(route, tier, label, TokenKind.COMPLETION_ESTIMATE).inc(t.estimatedCompletion);
    }
  }

  #token(route: string, tier: string, model: string, kind: TokenKind): Series {
    return this.tokens.of({ route, tier, model, kind });
  }

  /** The inter-token histogram series of a tier (held by a stream for its whole life). */
  interTokenOf(tier: string): HistogramSeries {
    return this.interToken.of({ tier });
  }

  /** Records one answer's output rate, in completion tokens per second. */
  outputTokensPerSecond(tier: string, rate: number): void {
    if (!(rate > 0) || !Number.isFinite(rate)) return;
    this.outputRate.of({ tier }).observe(rate);
  }
}
