import type { Protocol } from '../protocol/index.ts';
import type { CallFailure } from './failure.ts';
import type { RecordedAnswer } from './recorder.ts';
import type { Resumption } from './resumption.ts';
import type { SecondsObserver, TokenReading } from './tokens.ts';

/** What the chain hands one upstream call: data only, built fresh for each tier. */
export interface CallRequest {
  readonly method: string;
  /** Path and query as the client sent them (the upstream's basePath is prepended here). */
  readonly path: string;
  readonly rawHeaders: readonly string[];
  readonly connection: string | undefined;
  /** The body for this tier (the model rewritten, or a continuation). */
  readonly body: Buffer;
  readonly protocol: Protocol;
  /** `x-breakwater-*` headers of this tier's answer. */
  readonly tierHeaders: Readonly<Record<string, string>>;
  /** Bytes of the answer to keep for the cache; 0 = keep nothing (no cache tier follows). */
  readonly recordLimitBytes: number;
  /** The request's resumption when its stream may be resumed on a later tier, else null. */
  readonly resumption: Resumption | null;
  /** This tier has `continueOnNextTier`: it tracks the assistant text it sends. */
  readonly trackText: boolean;
  /** W3C `traceparent` of this attempt's span, sent in place of the caller's; null = tracing off. */
  readonly traceparent: string | null;
  /** The tier's inter-token histogram (seconds between reads carrying stream events), or null. */
  readonly interToken: SecondsObserver | null;
}

/** How one upstream call ended. Expected outcomes are values, never throws (CONTRIBUTING.md#errors). */
export type CallOutcome =
  | {
      readonly kind: 'ok';
      readonly status: number;
      readonly recorded: RecordedAnswer | null;
      /** What the call read of the answer's tokens. */
      readonly tokens: TokenReading;
    }
  /** 429: nothing sent to the client, not a breaker failure. */
  | { readonly kind: 'spill'; readonly status: number }
  /**
   * The tier failed; `committed` means the client got bytes. Its stream was ended with an error
   * event, unless `resumable`: then the stream is still open for the next tier to continue.
   */
  | {
      readonly kind: 'failed';
      readonly failure: CallFailure;
      readonly committed: boolean;
      readonly resumable: boolean;
    }
  /** The client went away first: a neutral outcome for the breaker. */
  | { readonly kind: 'client_gone' };
