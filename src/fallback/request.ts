import type { CacheRequest } from '../cache/index.ts';
import type { RoutePolicy } from '../policy/index.ts';

/** One LLM call as the chain sees it: parsed once by the proxy, read (never changed) by every tier. */
export interface ChainRequest extends CacheRequest {
  readonly method: string;
  /** Path and query as the client sent them. */
  readonly pathWithQuery: string;
  readonly connection: string | undefined;
  readonly body: Buffer;
  readonly route: RoutePolicy;
  /** First tier to try: a request addressed to one upstream's host starts at that upstream's tier. */
  readonly startIndex: number;
  /** Index of the route's cache tier, or -1: answers are recorded only for a cache tier after them. */
  readonly cacheIndex: number;
  /** ms since epoch when the request arrived. */
  readonly startedAtMs: number;
}

/** Why a tier did not answer, for the `x-breakwater-skipped` header and debug logs. */
export interface SkipNote {
  readonly tier: string;
  readonly reason: string;
}

/**
 * What one tier did: answered (the client has its response), skipped with a reason, or cut
 * mid-stream with the stream left open for the next upstream tier to continue.
 */
export type TierResult =
  | { readonly kind: 'answered'; readonly tier: string; readonly status: number }
  | { readonly kind: 'skipped'; readonly tier: string; readonly reason: string }
  | { readonly kind: 'cut'; readonly tier: string; readonly reason: string };

/** Nothing in the chain could answer: what the final 503 must say (the proxy maps it to HTTP). */
export interface Exhausted {
  /** Seconds until the earliest breaker of the route half-opens (at least 1). */
  readonly retryAfterSeconds: number;
  /** Why each tier did not answer, as in `x-breakwater-skipped`. */
  readonly skipped: string;
}
