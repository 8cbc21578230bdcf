import { Counter, Histogram, type Registry } from 'prom-client';

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

interface Child {
  inc(v?: number): void;
}
interface Observer {
  observe(v: number): void;
}

/**
 * The LLM metrics (README "Metrics"): tokens by route, tier, model and kind; answers without
 * usable usage; inter-token latency and output tokens per second by tier. Labelled children are
 * looked up once and kept, as in {@link Metrics.answered}.
 */
export class LlmMetrics {
  readonly tokens: Counter<'route' | 'tier' | 'model' | 'kind'>;
  readonly usageUnknown: Counter<'route' | 'tier'>;
  readonly interToken: Histogram<'tier'>;
  readonly outputRate: Histogram<'tier'>;
  readonly #models = new Set<string>();
  readonly #tokenChildren = new Map<string, Child>();
  readonly #unknownChildren = new Map<string, Child>();
  readonly #interChildren = new Map<string, Observer>();
  readonly #rateChildren = new Map<string, Observer>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.tokens = new Counter({
      name: 'breakwater_tokens_total',
      help: 'Tokens upstreams reported (prompt, completion), or stream events counted as tokens (completion_estimate)',
      labelNames: ['route', 'tier', 'model', 'kind'],
      registers,
    });
    this.usageUnknown = new Counter({
      name: 'breakwater_token_usage_unknown_total',
      help: 'Answers whose upstream reported no usable token usage (absent or malformed)',
      labelNames: ['route', 'tier'],
      registers,
    });
    this.interToken = new Histogram({
      name: 'breakwater_inter_token_seconds',
      help: 'Time between successive reads of stream events from an upstream, per tier',
      labelNames: ['tier'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.outputRate = new Histogram({
      name: 'breakwater_output_tokens_per_second',
      help: 'Completion tokens per second of one answer, after its first token (streams) or over the call (whole answers)',
      labelNames: ['tier'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
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
    if (t.prompt === null && t.completion === null) {
      const key = `${route}\u0000${tier}`;
      let c = this.#unknownChildren.get(key);
      if (c === undefined) this.#unknownChildren.set(key, (c = this.usageUnknown.labels({ route, tier })));
      c.inc();
    }
    const label = this.modelLabel(model);
    if (t.prompt !== null) this.#token(route, tier, label, TokenKind.PROMPT).inc(t.prompt);
    if (t.completion !== null) this.#token(route, tier, label, TokenKind.COMPLETION).inc(t.completion);
    else if (t.estimatedCompletion > 0) {
      this.#token(route, tier, label, TokenKind.COMPLETION_ESTIMATE).inc(t.estimatedCompletion);
    }
  }

  #token(route: string, tier: string, model: string, kind: TokenKind): Child {
    const key = `${route}\u0000${tier}\u0000${model}\u0000${kind}`;
    let c = this.#tokenChildren.get(key);
    if (c === undefined) this.#tokenChildren.set(key, (c = this.tokens.labels({ route, tier, model, kind })));
    return c;
  }

  /** The inter-token histogram child of a tier (held by a stream for its whole life). */
  interTokenOf(tier: string): Observer {
    let c = this.#interChildren.get(tier);
    if (c === undefined) this.#interChildren.set(tier, (c = this.interToken.labels({ tier })));
    return c;
  }

  /** Records one answer's output rate, in completion tokens per second. */
  outputTokensPerSecond(tier: string, rate: number): void {
    if (!(rate > 0) || !Number.isFinite(rate)) return;
    let c = this.#rateChildren.get(tier);
    if (c === undefined) this.#rateChildren.set(tier, (c = this.outputRate.labels({ tier })));
    c.observe(rate);
  }
}
