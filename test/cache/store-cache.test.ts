import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_PENDING_WRITES,
  MemoryStore,
  StoreCache,
  createResponseCache,
  nullCache,
} from '../../src/cache/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import { ErrorCode, hasCode } from '../../src/errors/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { cachePolicy, cacheRequest, recorded, startPathServer, type PathServer } from './helpers.ts';

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

let clock: ManualClock;
let store: MemoryStore;
let cache: StoreCache;
let server: PathServer;

function build(overrides: Parameters<typeof cachePolicy>[0] = {}, storeMaxEntryBytes?: number): void {
  const policy = cachePolicy(overrides);
  store = new MemoryStore({ ...policy, maxEntryBytes: storeMaxEntryBytes ?? policy.maxEntryBytes, clock });
  cache = new StoreCache(store, policy, { clock, logger: silentLogger(), breaker: null });
}

async function post(body: Record<string, unknown> = BODY, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Stores ANSWER for BODY directly, as the chain does after an upstream success. */
async function seed(options = {}): Promise<void> {
  const req = cacheRequest(PATH, BODY, options);
  cache.store(req, cache.keyFor({ ...req, noStore: false })!, ANSWER);
  await cache.flush();
}

beforeEach(async () => {
  clock = new ManualClock();
  build();
  server = await startPathServer(cache);
});

afterEach(async () => {
  await server.close();
  await cache.close();
});

describe('StoreCache', () => {
  it('answers nothing and resolves false when the key is missing', async () => {
    const r = await post();
    expect(r.status).toBe(503);
    expect(server.hits).toBe(0);
  });

  it('serves status 200 with the extra headers, content length and age when the key is stored', async () => {
    await seed();
    clock.advance(61_000);
    const r = await post();
    expect(r.status).toBe(200);
    expect(r.headers.get('x-breakwater-tier')).toBe('cache');
    expect(r.headers.get('age')).toBe('61');
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(Number(r.headers.get('content-length'))).toBe(Buffer.byteLength(r.text));
    expect(JSON.parse(r.text)).toMatchObject({ choices: [{ message: { content: 'yo' } }] });
  });

  it('resolves false when the answer is older than maxStaleMs', async () => {
    await seed();
    server.maxStaleMs = 1_000;
    clock.advance(1_000);
    expect((await post()).status).toBe(200);
    clock.advance(1);
    expect((await post()).status).toBe(503);
  });

  it('misses when the TTL has passed', async () => {
    await server.close();
    await cache.close();
    build({ ttlMs: 5_000 });
    server = await startPathServer(cache);
    await seed();
    clock.advance(5_000);
    expect((await post()).status).toBe(503);
  });

  it('writes after the current turn when store is called', async () => {
    const req = cacheRequest(PATH, BODY);
    cache.store(req, cache.keyFor(req)!, ANSWER);
    expect(store.size).toBe(0);
    expect(cache.pendingWrites).toBe(1);
    await cache.flush();
    expect(store.size).toBe(1);
    expect(cache.pendingWrites).toBe(0);
  });

  it('does not write when the request says no-store', async () => {
    await seed({ noStore: true });
    expect(store.size).toBe(0);
  });

  it('does not read when the request says no-store', async () => {
    await seed();
    expect((await post(BODY, { 'cache-control': 'no-store' })).status).toBe(503);
    expect((await post()).status).toBe(200);
  });

  it('skips an answer when its recorded body is larger than maxEntryBytes', async () => {
    await server.close();
    await cache.close();
    build({ maxEntryBytes: ANSWER.body.length - 1 }, 1_000_000);
    server = await startPathServer(cache);
    await seed();
    expect(store.size).toBe(0);
  });

  it('skips an answer when its canonical form is larger than maxEntryBytes', async () => {
    await server.close();
    await cache.close();
    build({ maxEntryBytes: 60 }, 1_000_000);
    server = await startPathServer(cache);
    const short = recorded(null, JSON.stringify({ choices: [{ message: { content: 'x' } }] }));
    expect(short.body.length).toBeLessThanOrEqual(60);
    const req = cacheRequest(PATH, BODY);
    cache.store(req, cache.keyFor(req)!, short);
    await cache.flush();
    expect(store.size).toBe(0);
  });

  it('does not store an answer when it is an error', async () => {
    const req = cacheRequest(PATH, BODY);
    cache.store(req, cache.keyFor(req)!, recorded(null, '{"error":{"message":"x"}}', 500));
    await cache.flush();
    expect(store.size).toBe(0);
  });

  it('drops writes when MAX_PENDING_WRITES are already in flight', async () => {
    for (let i = 0; i < MAX_PENDING_WRITES + 10; i++) {
      const req = cacheRequest(PATH, { ...BODY, seed: i });
      cache.store(req, cache.keyFor(req)!, ANSWER);
    }
    expect(cache.pendingWrites).toBe(MAX_PENDING_WRITES);
    await cache.flush();
    expect(store.size).toBe(MAX_PENDING_WRITES);
  });

  it('serves an entry stored by a streaming request to a whole-body request', async () => {
    server.upstream = ANSWER;
    expect((await post({ ...BODY, stream: false })).status).toBe(200);
    await cache.flush();
    server.upstream = null;
    const r = await post({ ...BODY, stream: true });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.text.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

describe('createResponseCache', () => {
  it('builds a memory cache without a breaker when the backend is memory', async () => {
    const c = createResponseCache(cachePolicy(), { clock: new ManualClock(), logger: silentLogger() });
    expect(c).toBeInstanceOf(StoreCache);
    expect(c.breaker).toBeNull();
    expect(c.maxEntryBytes).toBe(1024 * 1024);
    expect((c as StoreCache).backend.kind).toBe('memory');
    await c.close();
  });

  it('throws BW_ERR_POLICY_INVALID when a redis backend has no URL', () => {
    let err: unknown;
    try {
      createResponseCache(cachePolicy({ backend: 'redis' }), {
        clock: new ManualClock(),
        logger: silentLogger(),
      });
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, ErrorCode.POLICY_INVALID)).toBe(true);
  });
});

describe('nullCache', () => {
  it('never keys, hits or stores when used', async () => {
    const req = cacheRequest(PATH, BODY);
    expect(nullCache.keyFor(req)).toBeNull();
    expect(nullCache.maxEntryBytes).toBe(0);
    expect(nullCache.breaker).toBeNull();
    expect(await nullCache.serve(req, 'k', null, null as never, {})).toBe(false);
    await nullCache.close();
  });
});
