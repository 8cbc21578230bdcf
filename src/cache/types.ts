import type { ServerResponse } from 'node:http';
import type { CircuitBreaker } from '../breaker/index.ts';
import type { EndpointInfo } from '../protocol/index.ts';
import type { RecordedAnswer } from '../upstream/index.ts';

/** What the cache needs to know about a request. */
export interface CacheRequest {
  readonly routeName: string;
  /** Path without query. */
  readonly path: string;
  readonly endpoint: EndpointInfo;
  /** Parsed JSON body (null when the body is not a JSON object). */
  readonly json: Readonly<Record<string, unknown>> | null;
  /** The model as the client asked for it (before any tier's rewrite). */
  readonly model: string | null;
  /** The client asked for a stream. */
  readonly stream: boolean;
  /**
   * The client's headers as Node gives them (`[name, value, …]`): the values of `cache.keyHeaders`
   * are hashed into the key so that answers never cross credentials.
   */
  readonly rawHeaders: readonly string[];
  /** `cache-control: no-store` on the request: neither read nor written. */
  readonly noStore: boolean;
}

/**
 * The cache tier (docs/design.md#the-request-path): stale-on-error answers stored after successful upstream calls and
 * served only when the chain reaches the cache tier.
 */
export interface ResponseCache {
  /** Largest answer worth recording, in bytes (0 = the cache records nothing). */
  readonly maxEntryBytes: number;
  /** The cache's own breaker (a store outage makes the tier skip), or null when it has none. */
  readonly breaker: CircuitBreaker | null;
  /** The key of a request, or null when it is not cacheable (endpoint, no-store, no JSON body). */
  keyFor(req: CacheRequest): string | null;
  /**
   * Answers from the cache in the request's protocol (JSON, or replayed SSE / NDJSON when it asked
   * for a stream) with `extraHeaders` and an `age` header. Resolves with the recorded answer served
   * (its usage counts under the cache tier), or false on a miss, an answer older than `maxStaleMs`,
   * or a store outage — never rejects, never writes on a miss.
   */
  serve(
    req: CacheRequest,
    key: string,
    maxStaleMs: number | null,
    res: ServerResponse,
    extraHeaders: Readonly<Record<string, string>>,
  ): Promise<RecordedAnswer | false>;
  /** Stores an answer in the background; never throws, never delays the response. */
  store(req: CacheRequest, key: string, answer: RecordedAnswer): void;
  /** Closes the store (Redis connection). */
  close(): Promise<void>;
}
