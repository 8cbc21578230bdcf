import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  RedisStore,
  StoreCache,
  createResponseCache,
  reconnectDelayMs,
  redisClientOptions,
} from '../../src/cache/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { clientEvent, findRedis } from '../helpers/redis.ts';
import {
  EXTRA_HEADERS,
  breakerPolicy,
  cachePolicy,
  cacheRequest,
  capturingLogger,
  recorded,
  sse,
  startPathServer,
} from './helpers.ts';

const redis = await findRedis();
afterAll(async () => {
  await redis?.close();
});

const PATH = '/v1/chat/completions';
const BODY = { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] };
const ANSWER = recorded(
  null,
  JSON.stringify({
    object: 'chat.completion',
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'yo' }, finish_reason: 'stop' }],
  }),
);

describe('redisClientOptions', () => {
  const base = { commandTimeoutMs: 50, maxEntryBytes: 1, clock: new ManualClock(), logger: silentLogger() };

  it('fails fast while disconnected and reconnects in the background when built', () => {
    const o = redisClientOptions({ ...base, url: 'redis://:pw@host:6379/2' });
    expect(o).toMatchObject({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 50,
      lazyConnect: true,
    });
    expect(o.connectTimeout).toBeLessThanOrEqual(1_000);
    expect(o.tls).toBeUndefined();
  });

  it('turns TLS on when the scheme is rediss', () => {
    expect(redisClientOptions({ ...base, url: 'rediss://cache:6380' }).tls).toEqual({});
  });

  it('backs off reconnects up to 2 s when attempts repeat', () => {
    expect([1, 2, 3, 6, 7, 100].map(reconnectDelayMs)).toEqual([50, 100, 200, 1_600, 2_000, 2_000]);
  });
});

describe.skipIf(redis === null)('redis cache', () => {
  const url = redis?.url ?? '';
  let clock: ManualClock;
  let cache: StoreCache;
  let store: RedisStore;
  let inspector: Redis;
  let log: ReturnType<typeof capturingLogger>;
  let prefix: string;

  async function build(overrides: Parameters<typeof cachePolicy>[0] = {}, waitReady = true): Promise<void> {
    prefix = `bw-test:${randomUUID()}:`;
    const policy = cachePolicy({
      backend: 'redis',
      url,
      keyPrefix: prefix,
      // Generous unless a test is about timeouts: a loaded CI machine must not turn hits into misses.
      commandTimeoutMs: 1_000,
      breaker: breakerPolicy(),
      ...overrides,
    });
    const c = createResponseCache(policy, { clock, logger: log.logger });
    if (!(c instanceof StoreCache) || !(c.backend instanceof RedisStore))
      throw new Error('expected a redis StoreCache');
    cache = c;
    store = c.backend;
    if (waitReady && !store.ready) await clientEvent(store.client, 'ready');
  }

  function response(): ServerResponse {
    return new ServerResponse(new IncomingMessage(new Socket()));
  }

  async function seed(options = {}): Promise<string> {
    const req = cacheRequest(PATH, BODY, options);
    const key = cache.keyFor({ ...req, noStore: false })!;
    cache.store(req, key, ANSWER);
    await cache.flush();
    return key;
  }

  beforeEach(async () => {
    clock = new ManualClock();
    log = capturingLogger();
    inspector = new Redis(url, { lazyConnect: true });
    inspector.on('error', () => undefined); // Tests kill Redis; this client is only for looking.
    await inspector.connect();
    await build();
  });

  afterEach(async () => {
    await cache.close();
    inspector.disconnect();
    if (redis!.controllable) await redis!.start();
  });

  it('returns the bytes and stored-at time with a PX TTL when a value is set', async () => {
    const key = `${prefix}k`;
    expect(await store.set(key, Buffer.from('payload'), 10_000)).toEqual({ ok: true, stored: true });
    const r = await store.get(key);
    expect(r.ok && r.entry?.value.toString()).toBe('payload');
    expect(r.ok && r.entry?.storedAtMs).toBe(clock.now());
    const pttl = await inspector.pttl(key);
    expect(pttl).toBeGreaterThan(9_000);
    expect(pttl).toBeLessThanOrEqual(10_000);
    await store.delete(key);
    expect(await inspector.exists(key)).toBe(0);
  });

  it('misses when the entry has expired in Redis', async () => {
    const key = `${prefix}short`;
    await store.set(key, Buffer.from('x'), 200);
    // Wait for Redis to expire it, polling its own remaining TTL (bounded).
    for (let i = 0; i < 50; i++) {
      const pttl = await inspector.pttl(key);
      if (pttl === -2) break;
      await new Promise((resolve) => setTimeout(resolve, Math.max(pttl, 5)));
    }
    expect(await inspector.exists(key)).toBe(0);
    expect(await store.get(key)).toEqual({ ok: true, entry: null });
  });

  it('skips a value when it is larger than maxEntryBytes', async () => {
    await cache.close();
    await build({ maxEntryBytes: 64 });
    const key = `${prefix}big`;
    expect(await store.set(key, Buffer.alloc(65), 10_000)).toEqual({ ok: true, stored: false });
    expect(await inspector.exists(key)).toBe(0);
  });

  it('replays an entry to the openai client when it was stored from a stream', async () => {
    const server = await startPathServer(cache);
    try {
      const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'k', maxRetries: 0 });
      const chunk = (delta: unknown, finish: string | null = null) => ({
        id: 'a',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
      server.upstream = recorded(
        'sse',
        sse(chunk({ role: 'assistant', content: 'from ' }), chunk({ content: 'redis' }, 'stop')),
      );
      for await (const _ of await openai.chat.completions.create({
        model: 'gpt-x',
        messages: [{ role: 'user', content: 'q' }],
        stream: true,
      }))
        void _;
      await cache.flush();
      server.upstream = null;
      const r = await openai.chat.completions.create({
        model: 'gpt-x',
        messages: [{ role: 'user', content: 'q' }],
      });
      expect(server.hits).toBe(1);
      expect(r.choices[0]!.message.content).toBe('from redis');
    } finally {
      await server.close();
    }
  });

  it('neither writes nor reads when the request says no-store', async () => {
    const key = await seed({ noStore: true });
    expect(await inspector.exists(key)).toBe(0);
    await seed();
    expect(await inspector.exists(key)).toBe(1);
    const noStore = cacheRequest(PATH, BODY, { noStore: true });
    expect(await cache.serve(noStore, key, null, response(), EXTRA_HEADERS)).toBe(false);
    const res = response();
    expect(await cache.serve(cacheRequest(PATH, BODY), key, null, res, EXTRA_HEADERS)).toMatchObject({
      status: 200,
    });
    expect(res.statusCode).toBe(200);
  });

  it.skipIf(!redis?.controllable)(
    'resolves serve false fast and opens the breaker when Redis is killed',
    async () => {
      const key = await seed();
      const lost = clientEvent(store.client, 'close');
      await redis!.stop();
      await lost;
      const req = cacheRequest(PATH, BODY);
      const durations: number[] = [];
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        expect(await cache.serve(req, key, null, response(), EXTRA_HEADERS)).toBe(false);
        durations.push(performance.now() - started);
      }
      // Bounded well below the 1 s connect timeout a queued command would wait for.
      expect(Math.max(...durations)).toBeLessThan(500);
      expect(cache.breaker!.state).toBe('open');
      expect(cache.breaker!.snapshot().total_rejections).toBe(8);
      // Writes while down are dropped without a sound.
      for (let i = 0; i < 10; i++) cache.store(req, key, ANSWER);
      expect(cache.pendingWrites).toBe(0);
      const messages = log.lines.map((l) => l.msg);
      expect(
        messages.filter((m) => m === 'cache store connection lost; cache tier skipped until it is back'),
      ).toHaveLength(1);
      expect(
        messages.filter((m) => m === 'cache breaker opened; cache tier skipped, writes dropped'),
      ).toHaveLength(1);
    },
  );

  it.skipIf(!redis?.controllable)(
    'resolves serve false within the command timeout when Redis hangs',
    async () => {
      await cache.close();
      await build({ commandTimeoutMs: 100 });
      const key = await seed();
      redis!.pause();
      try {
        const started = performance.now();
        expect(await cache.serve(cacheRequest(PATH, BODY), key, null, response(), EXTRA_HEADERS)).toBe(false);
        // A hung Redis would hold the call forever; the command timeout (100 ms) ends it.
        expect(performance.now() - started).toBeLessThan(1_000);
        expect(cache.breaker!.snapshot().total_timeouts).toBe(1);
      } finally {
        redis!.resume();
      }
    },
  );

  it.skipIf(!redis?.controllable)('connects in the background when Redis is down at start', async () => {
    await cache.close();
    await redis!.stop();
    await build({}, false);
    const req = cacheRequest(PATH, BODY);
    const key = cache.keyFor(req)!;
    for (let i = 0; i < 3; i++)
      expect(await cache.serve(req, key, null, response(), EXTRA_HEADERS)).toBe(false);
    expect(cache.breaker!.state).toBe('open');
    const up = clientEvent(store.client, 'ready');
    await redis!.start();
    await up;
    await seed();
    expect(await cache.serve(req, key, null, response(), EXTRA_HEADERS)).toMatchObject({ status: 200 });
    const messages = log.lines.map((l) => l.msg);
    expect(messages.filter((m) => m === 'cache store error; reconnecting in the background')).toHaveLength(1);
    expect(messages).toContain('cache store connected');
  });

  it.skipIf(!redis?.controllable)('serves again when Redis comes back after an outage', async () => {
    const req = cacheRequest(PATH, BODY);
    const key = cache.keyFor(req)!;
    const lost = clientEvent(store.client, 'close');
    await redis!.stop();
    await lost;
    for (let i = 0; i < 3; i++) await cache.serve(req, key, null, response(), EXTRA_HEADERS);
    expect(cache.breaker!.state).toBe('open');
    const back = clientEvent(store.client, 'ready');
    await redis!.start();
    await back;
    // The reconnect half-opens the breaker without waiting for the recovery timeout.
    expect(cache.breaker!.state).toBe('half_open');
    await seed(); // Redis restarted empty; this write is the trial that closes the breaker.
    expect(cache.breaker!.state).toBe('closed');
    const res = response();
    expect(await cache.serve(req, key, null, res, EXTRA_HEADERS)).toMatchObject({ status: 200 });
    expect(log.lines.some((l) => l.msg === 'cache store reconnected')).toBe(true);
  });
});
