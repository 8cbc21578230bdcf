import type { ServerResponse } from 'node:http';
import type { CircuitBreaker, Permit } from '../breaker/index.ts';
import type { Clock } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';
import type { CachePolicy } from '../policy/types.ts';
import type { RecordedAnswer } from '../upstream/index.ts';
import { decodeRecorded, encodeRecorded } from './answer.ts';
import { assembleAnswer } from './assemble.ts';
import { cacheKey, keyHeaderIndex, type KeyHeaders } from './key.ts';
import { renderAnswer } from './replay.ts';
import type { CacheStore } from './store.ts';
import type { CacheRequest, ResponseCache } from './types.ts';

/**
 * Writes in flight above which new ones are dropped: a slow store must not pile up answers in
 * memory (each write holds its recorded body until it ends).
 */
export const MAX_PENDING_WRITES = 256;

/** What a `StoreCache` is built with. */
export interface StoreCacheDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Breaker guarding the store (Redis); null for a store that cannot fail (memory). */
  readonly breaker: CircuitBreaker | null;
}

/**
 * The cache tier over a `CacheStore`. `keyFor` hashes the request; `store` writes the recorded
 * answer after the current I/O turn, never delaying the response; `serve` reads,
 * checks age and replays the answer in the request's shape. The breaker (when there is one) sees
 * every read and write: while open, reads resolve false at once and writes are dropped. Answers
 * are assembled into their canonical form when served, so an answer that cannot be replayed is a miss.
 */
export class StoreCache implements ResponseCache {
  readonly maxEntryBytes: number;
  readonly breaker: CircuitBreaker | null;
  /** The store underneath (tests and benchmarks reach it). */
  readonly backend: CacheStore;
  readonly #policy: CachePolicy;
  readonly #keyHeaders: KeyHeaders;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #pendingWrites = 0;
  #idle: (() => void)[] = [];

  constructor(store: CacheStore, policy: CachePolicy, deps: StoreCacheDeps) {
    this.backend = store;
    this.#policy = policy;
    this.#keyHeaders = keyHeaderIndex(policy.keyHeaders);
    this.maxEntryBytes = policy.maxEntryBytes;
    this.breaker = deps.breaker;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
  }

  /** Writes not finished yet. */
  get pendingWrites(): number {
    return this.#pendingWrites;
  }

  keyFor(req: CacheRequest): string | null {
    return cacheKey(this.#policy.keyPrefix, this.#keyHeaders, req);
  }

  async serve(
    req: CacheRequest,
    key: string,
    maxStaleMs: number | null,
    res: ServerResponse,
    extraHeaders: Readonly<Record<string, string>>,
  ): Promise<RecordedAnswer | false> {
    if (req.noStore || res.headersSent) return false;
    const breaker = this.breaker;
    let permit: Permit | null = null;
    if (breaker !== null && (permit = breaker.tryAcquire()) === null) return false;
    try {
      const result = await this.backend.get(key);
      if (!result.ok) {
        if (permit !== null) breaker!.failure(permit, result.failure);
        return false;
      }
      if (permit !== null) breaker!.success(permit);
      const entry = result.entry;
      if (entry === null) return false;
      const ageMs = Math.max(0, this.#clock.now() - entry.storedAtMs);
      if (maxStaleMs !== null && ageMs > maxStaleMs) return false;
      const recorded = decodeRecorded(entry.value);
      const answer = recorded === null ? null : assembleAnswer(req.endpoint, recorded);
      const rendered = answer === null ? null : renderAnswer(answer, req, entry.storedAtMs);
      if (rendered === null || res.headersSent) return false;
      const headers: Record<string, string | number> = {
        ...extraHeaders,
        'content-type': rendered.contentType,
        'content-length': Buffer.byteLength(rendered.body),
        // RFC 9111 §5.1: whole seconds since the answer was produced.
        age: Math.floor(ageMs / 1000),
      };
      if (req.stream) headers['cache-control'] = 'no-cache';
      res.writeHead(200, headers);
      res.end(rendered.body);
      return recorded!;
    } catch (err) {
      if (permit !== null) breaker!.release(permit);
      this.#logger.error({ err }, 'cache serve failed');
      return false;
    }
  }

  store(req: CacheRequest, key: string, answer: RecordedAnswer): void {
    if (
      req.noStore ||
      answer.status < 200 ||
      answer.status >= 300 ||
      answer.body.length > this.maxEntryBytes ||
      this.#pendingWrites >= MAX_PENDING_WRITES
    )
      return;
    // While the store is down, writes are dropped silently (the breaker logged the outage once).
    if (this.breaker !== null && !this.breaker.isAvailable()) return;
    this.#pendingWrites++;
    // After the current I/O turn: the write must not hold up the response.
    setImmediate(() => void this.#write(key, answer));
  }

  /** Resolves once every write started so far has ended. */
  flush(): Promise<void> {
    if (this.#pendingWrites === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    await this.flush();
    await this.backend.close();
  }

  async #write(key: string, recorded: RecordedAnswer): Promise<void> {
    let permit: Permit | null = null;
    try {
      const value = encodeRecorded(recorded);
      if (value.length > this.maxEntryBytes) return;
      if (this.breaker !== null && (permit = this.breaker.tryAcquire()) === null) return;
      const result = await this.backend.set(key, value, this.#policy.ttlMs);
      if (permit !== null) {
        if (result.ok) this.breaker!.success(permit);
        else this.breaker!.failure(permit, result.failure);
      }
    } catch (err) {
      if (permit !== null) this.breaker!.release(permit);
      this.#logger.error({ err }, 'cache write failed');
    } finally {
      if (--this.#pendingWrites === 0) {
        const idle = this.#idle;
        this.#idle = [];
        for (const resolve of idle) resolve();
      }
    }
  }
}
