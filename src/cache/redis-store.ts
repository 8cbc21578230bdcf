import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';

/** ioredis is loaded only when a Redis cache is configured: ~20 MiB of RSS the memory cache does not need. */
let RedisClass: typeof Redis | null = null;
function loadRedis(): typeof Redis {
  return (RedisClass ??= (createRequire(import.meta.url)('ioredis') as { Redis: typeof Redis }).Redis);
}
import { FailureKind, type Failure } from '../breaker/index.ts';
import type { Clock } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';
import { MISS, REFUSED, STORED, type CacheStore, type GetResult, type SetResult } from './store.ts';

/** Options of a Redis store. */
export interface RedisStoreOptions {
  /** `redis://[user:pass@]host:port[/db]`, or `rediss://…` for TLS (secrets already interpolated). */
  readonly url: string;
  /** Reply deadline of each command, ms. Policy default 50. */
  readonly commandTimeoutMs: number;
  /** Deadline of one connection attempt, ms. Default 500. */
  readonly connectTimeoutMs?: number;
  /** Largest value written, bytes; larger ones are refused without a round trip. */
  readonly maxEntryBytes: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called each time the connection becomes ready (first connect and every reconnect). */
  readonly onReady?: () => void;
}

/** Value layout: version byte, stored-at ms (float64 BE), then the payload. */
const FORMAT_V1 = 1;
const HEADER_BYTES = 9;

/** Reconnect delay: 50 ms doubling to a 2 s ceiling, forever (an outage must heal by itself). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt - 1, 10), 2_000);
}

function failureOf(err: unknown): Failure {
  const message = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(message)) return { kind: FailureKind.TIMEOUT, message: `redis: ${message}` };
  if (err instanceof Error && err.name === 'ReplyError') {
    return { kind: FailureKind.STATUS, message: `redis: ${message}` };
  }
  return { kind: FailureKind.CONNECT, message: `redis: ${message}` };
}

/** The ioredis options of a store: fail fast while disconnected, reconnect in the background. */
export function redisClientOptions(options: RedisStoreOptions): Omit<RedisOptions, 'replyMapping'> {
  return {
    // While disconnected a command fails at once instead of queueing: the request path must never
    // wait for Redis (docs/design.md#the-request-path); the cache breaker then skips the tier.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs ?? 500,
    retryStrategy: reconnectDelayMs,
    lazyConnect: true,
    // RESP2 + AUTH works with every Redis-compatible server (RESP3 needs HELLO, Redis ≥ 6).
    protocol: 2,
    disableClientInfo: true,
    ...(/^rediss:/i.test(options.url) ? { tls: {} } : {}),
  };
}

/**
 * A Redis-backed store via ioredis: one connection, `SET key value PX ttl`, `GET`. Connects in
 * the background and reconnects forever; logs once per connection state change, never per call.
 */
export class RedisStore implements CacheStore {
  readonly kind = 'redis' as const;
  /** The ioredis client (tests wait on its `ready` / `close` events). */
  readonly client: Redis;
  readonly #options: RedisStoreOptions;
  /** The connection was ready once and is not now: the next `ready` is a recovery. */
  #lost = false;
  #everReady = false;
  #errorLogged = false;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.client = new (loadRedis())(options.url, redisClientOptions(options));
    this.client.on('ready', () => this.#onReady());
    this.client.on('close', () => this.#onClose());
    // ioredis repeats `error` on every reconnect attempt: log the first of each outage only.
    this.client.on('error', (err: Error) => this.#onError(err));
    this.client.connect().catch(() => undefined);
  }

  /** The connection is up and accepting commands. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  async get(key: string): Promise<GetResult> {
    let buf: Buffer | null;
    try {
      buf = await this.client.getBuffer(key);
    } catch (err) {
      return { ok: false, failure: failureOf(err) };
    }
    if (buf === null || buf.length < HEADER_BYTES || buf[0] !== FORMAT_V1) return MISS;
    return { ok: true, entry: { value: buf.subarray(HEADER_BYTES), storedAtMs: buf.readDoubleBE(1) } };
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<SetResult> {
    if (value.length > this.#options.maxEntryBytes || ttlMs <= 0) return REFUSED;
    const buf = Buffer.allocUnsafe(HEADER_BYTES + value.length);
    buf[0] = FORMAT_V1;
    buf.writeDoubleBE(this.#options.clock.now(), 1);
    value.copy(buf, HEADER_BYTES);
    try {
      await this.client.set(key, buf, 'PX', Math.ceil(ttlMs));
      return STORED;
    } catch (err) {
      return { ok: false, failure: failureOf(err) };
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.del(key);
    } catch {
      // Best effort: an entry left behind still expires by its TTL.
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.client.status === 'ready') {
      try {
        await this.client.quit();
        return;
      } catch {
        // Fall through to a hard disconnect.
      }
    }
    this.client.disconnect();
  }

  #onReady(): void {
    this.#errorLogged = false;
    if (!this.#everReady || this.#lost) {
      this.#options.logger.info(
        { cache: 'redis' },
        this.#everReady ? 'cache store reconnected' : 'cache store connected',
      );
    }
    this.#everReady = true;
    this.#lost = false;
    // Also on the first connect: a store that was down at start may have opened the breaker.
    this.#options.onReady?.();
  }

  #onClose(): void {
    if (this.#closed || this.#lost || !this.#everReady) return;
    this.#lost = true;
    this.#options.logger.warn(
      { cache: 'redis' },
      'cache store connection lost; cache tier skipped until it is back',
    );
  }

  #onError(err: Error): void {
    if (this.#closed || this.#errorLogged) return;
    this.#errorLogged = true;
    this.#options.logger.warn(
      { cache: 'redis', err: err.message },
      'cache store error; reconnecting in the background',
    );
  }
}
