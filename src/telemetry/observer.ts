/**
 * What the request path tells tracing (docs/operations.md#traces). The path holds a
 * {@link RequestTracer} or null: with tracing off it is null and no call below is made, so a
 * request pays one null check per hook.
 */

/** How one tier attempt ended. */
export const AttemptOutcome = {
  /** The tier gave the answer. */
  ANSWERED: 'answered',
  /** Not tried: breaker open, trial slots taken, saturated, cache miss, no degraded form. */
  SKIPPED: 'skipped',
  /** Tried and failed before the client got a byte (or, committed, ended the stream with an error). */
  FAILED: 'failed',
  /** Cut mid-stream; the next upstream tier continues the answer. */
  RESUMED: 'resumed',
  /** The client went away during the attempt. */
  CLIENT_GONE: 'client_gone',
} as const;
export type AttemptOutcome = (typeof AttemptOutcome)[keyof typeof AttemptOutcome];

/** A tier about to be tried. */
export interface AttemptStart {
  /** `tier` label: the upstream's name, `cache` or `degraded`. */
  readonly tier: string;
  readonly kind: 'upstream' | 'cache' | 'degraded';
  /** The model the tier is asked for (after the tier's `models` mapping), or null. */
  readonly model: string | null;
  /** The tier's breaker state when it was tried, or null (degraded). */
  readonly breakerState: string | null;
}

/** The end of one attempt. */
export interface AttemptEnd {
  readonly outcome: AttemptOutcome;
  /** Why it was skipped or failed (`open`, `connect`, `503`, `timeout`, …), or null. */
  readonly reason: string | null;
  /** HTTP status the tier answered with, or null. */
  readonly status: number | null;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
}

/** One tier attempt in progress: a child span of the request's. */
export interface AttemptSpan {
  /** W3C `traceparent` naming this attempt's span: sent upstream in place of the caller's. */
  readonly traceparent: string;
  end(end: AttemptEnd): void;
}

/** One proxied request in progress: its span and its attempts. */
export interface RequestTracer {
  attempt(start: AttemptStart): AttemptSpan;
  /** Ends the request span: the tier that answered (`none` when nothing could) and the status. */
  end(tier: string, status: number, skipped: string | null): void;
}

/** What starts request spans; null on the request path when tracing is off. */
export interface Tracing {
  /**
   * Starts a request span, continuing the caller's `traceparent` (and `tracestate`) when valid.
   * `operation` is the GenAI operation (`chat`, `text_completion`, `embeddings`, `generate_content`).
   */
  startRequest(info: {
    readonly route: string;
    readonly method: string;
    readonly path: string;
    readonly operation: string;
    readonly system: string;
    readonly model: string | null;
    readonly traceparent: string | undefined;
    readonly tracestate: string | undefined;
  }): RequestTracer;
  /** Sends the spans ended so far. */
  flush(): Promise<void>;
  /** Sends what is left and stops exporting. */
  shutdown(): Promise<void>;
}
