import type { ServerResponse } from 'node:http';
import type { Failure } from '../breaker/index.ts';
import type { Framing, Protocol } from '../protocol/index.ts';

/**
 * Framing and protocol of client responses that are streams in progress, so that whoever must end
 * one early (shutdown at its timeout) can end it with an error event in the right shape.
 */
export const openStreams = new WeakMap<
  ServerResponse,
  { readonly framing: Framing; readonly protocol: Protocol }
>();

/** What the chain hands one upstream call. */
export interface CallRequest {
  readonly method: string;
  /** Path and query as the client sent them (the upstream's basePath is prepended here). */
  readonly path: string;
  readonly rawHeaders: readonly string[];
  readonly connection: string | undefined;
  readonly body: Buffer;
  readonly protocol: Protocol;
  /** Bytes of the answer to keep for the cache; 0 = keep nothing. */
  readonly recordLimitBytes: number;
  /**
   * Keep the assistant text that reached the client so that a stream cut mid-way can be resumed
   * on the next tier (`continueOnNextTier`, chat streams only). The response is then left open on
   * such a failure, for the chain to continue or end.
   */
  readonly resumable: boolean;
  /**
   * Set when this call continues a stream another tier started (the client already has headers):
   * the assistant text the client got so far.
   */
  readonly continueFrom: string | null;
  /** W3C `traceparent` of this attempt's span, sent in place of the caller's; null = tracing off. */
  readonly traceparent: string | null;
  /** Inter-token latency histogram of the tier (seconds between reads carrying events), or null. */
  readonly interToken: { observe(seconds: number): void } | null;
}

/** An answer kept for the cache: the upstream's status, content type and (whole) body. */
export interface RecordedAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly framing: Framing | null;
  readonly body: Buffer;
}

/** How one upstream call ended. Expected outcomes are values, never throws (STYLE §3). */
export type CallOutcome =
  | { readonly kind: 'ok'; readonly status: number; readonly recorded: RecordedAnswer | null }
  /** 429: nothing sent to the client, not a breaker failure. */
  | { readonly kind: 'spill'; readonly status: number }
  /**
   * The tier failed; `committed` means the client got bytes. Its stream was ended with an error
   * event, unless `partialText` is set: then the stream is still open and may be resumed.
   */
  | {
      readonly kind: 'failed';
      readonly failure: Failure;
      readonly committed: boolean;
      readonly partialText: string | null;
    }
  /** The client went away first: a neutral outcome for the breaker. */
  | { readonly kind: 'client_gone' };
