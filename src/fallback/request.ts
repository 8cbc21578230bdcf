import type { CacheRequest } from '../cache/index.ts';
import type { RoutePolicy } from '../policy/index.ts';

/** One LLM call as the chain sees it: parsed once by the proxy, read by every tier. */
export interface ChainRequest extends CacheRequest {
  readonly method: string;
  /** Path and query as the client sent them. */
  readonly pathWithQuery: string;
  readonly connection: string | undefined;
  readonly body: Buffer;
  readonly route: RoutePolicy;
  /** First tier to try: a request addressed to one upstream's host starts at that upstream's tier. */
  readonly startIndex: number;
  /** ms since epoch when the request arrived. */
  readonly startedAtMs: number;
}

/** Why a tier did not answer, for the `x-breakwater-skipped` header and debug logs. */
export interface SkipNote {
  readonly tier: string;
  readonly reason: string;
}
