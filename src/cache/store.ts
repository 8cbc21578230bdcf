import type { Failure } from '../breaker/index.ts';

/** One value read back from a store. */
export interface StoredValue {
  /** The bytes as written. */
  readonly value: Buffer;
  /** When it was written, ms since the epoch (the writer's clock). */
  readonly storedAtMs: number;
}

/**
 * Outcome of a store read. A store outage is an expected outcome, returned as a value (CONTRIBUTING.md#errors):
 * `failure` feeds the cache's breaker.
 */
export type GetResult =
  | { readonly ok: true; readonly entry: StoredValue | null }
  | { readonly ok: false; readonly failure: Failure };

/** Outcome of a store write; `stored` is false when the value was refused (too large). */
export type SetResult =
  { readonly ok: true; readonly stored: boolean } | { readonly ok: false; readonly failure: Failure };

/**
 * A byte store with a lifetime per entry: the memory store (LRU) and the Redis store implement it.
 * Methods never reject; failures come back as `{ ok: false }`.
 */
export interface CacheStore {
  /** `memory` or `redis`, for logs and docs. */
  readonly kind: 'memory' | 'redis';
  /** The entry under `key`, or null when absent or expired. */
  get(key: string): Promise<GetResult>;
  /** Writes `value` under `key` for `ttlMs` milliseconds, stamped with the store's clock. */
  set(key: string, value: Buffer, ttlMs: number): Promise<SetResult>;
  /** Removes `key` (absent keys are fine). */
  delete(key: string): Promise<void>;
  /** Releases the store (closes the connection); later calls fail or miss. */
  close(): Promise<void>;
}

/** `{ ok: true, entry: null }`, shared: a miss allocates nothing. */
export const MISS: GetResult = Object.freeze({ ok: true, entry: null });
/** `{ ok: true, stored: true }`, shared. */
export const STORED: SetResult = Object.freeze({ ok: true, stored: true });
/** `{ ok: true, stored: false }`, shared. */
export const REFUSED: SetResult = Object.freeze({ ok: true, stored: false });
