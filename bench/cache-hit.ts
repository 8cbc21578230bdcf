/**
 * Cache-hit latency of the memory and Redis stores through a real HTTP request on loopback, and
 * the cost of `store()` while Redis is down. Run: `node bench/cache-hit.ts` (needs redis-server on
 * PATH or REDIS_URL for the Redis rows). Budgets (docs/design.md#budgets): memory hit p99 ≤ 1 ms, Redis ≤ 5 ms.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { RedisStore, StoreCache, createResponseCache, type CacheRequest } from '../src/cache/index.ts';
import { systemClock } from '../src/clock/index.ts';
import { silentLogger } from '../src/log/index.ts';
import type { CachePolicy } from '../src/policy/types.ts';
import { CACHE_KEY_HEADERS } from '../src/policy/index.ts';
import { endpointOf } from '../src/protocol/index.ts';
import { clientEvent, findRedis } from '../test/helpers/redis.ts';

const N = 2_000;
const WARMUP = 300;
const PATH = '/v1/chat/completions';
const ENDPOINT = endpointOf('POST', PATH)!;
const BODY = JSON.stringify({
  model: 'gpt-x',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Name three rivers in Europe.' },
  ],
  temperature: 0,
});
const ANSWER = {
  status: 200,
  contentType: 'application/json',
  framing: null,
  body: Buffer.from(
    JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: 'max-model',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Danube, Rhine, Loire.' }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 },
    }),
  ),
};

const policy = (overrides: Partial<CachePolicy>): CachePolicy => ({
  backend: 'memory',
  url: null,
  ttlMs: 3_600_000,
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  maxEntryBytes: 1024 * 1024,
  keyPrefix: 'bw-bench:',
  keyHeaders: CACHE_KEY_HEADERS,
  commandTimeoutMs: 50,
  breaker: {
    failureThreshold: 3,
    recoveryTimeoutMs: 30_000,
    successThreshold: 2,
    halfOpenMaxRequests: 1,
    backoffMultiplier: 2,
    maxRecoveryTimeoutMs: 300_000,
    jitter: 0.1,
    failureRate: null,
  },
  ...overrides,
});

function cacheRequest(json: Record<string, unknown>, stream: boolean): CacheRequest {
  return {
    routeName: 'default',
    path: PATH,
    endpoint: ENDPOINT,
    json,
    model: 'gpt-x',
    stream,
    rawHeaders: ['Authorization', 'Bearer k'],
    noStore: false,
  };
}

interface Row {
  backend: string;
  what: string;
  samples: number[];
}
const rows: Row[] = [];

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function hits(backend: string, cache: StoreCache, stream: boolean): Promise<void> {
  const serveUs: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // What the request path does: parse once, key, serve.
      const cr = cacheRequest(
        JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        stream,
      );
      const started = performance.now();
      const key = cache.keyFor(cr)!;
      void cache
        .serve(cr, key, null, res, { 'x-breakwater-tier': 'cache', 'x-breakwater-route': 'default' })
        .then((ok) => {
          serveUs.push((performance.now() - started) * 1000);
          if (!ok) {
            res.writeHead(503);
            res.end();
          }
        });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const cr = cacheRequest(JSON.parse(BODY) as Record<string, unknown>, stream);
  cache.store(cr, cache.keyFor(cr)!, ANSWER);
  await cache.flush();
  const rtt: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const started = performance.now();
    const r = await pool.request({
      path: PATH,
      method: 'POST',
      body: BODY,
      headers: { 'content-type': 'application/json' },
    });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`expected a hit, got ${r.statusCode}`);
    if (i >= WARMUP) rtt.push((performance.now() - started) * 1000);
  }
  await pool.close();
  server.close();
  const mode = stream ? 'SSE' : 'JSON';
  rows.push({ backend, what: `HTTP round trip, ${mode} hit`, samples: rtt });
  rows.push({ backend, what: `serve() incl. key, ${mode}`, samples: serveUs.slice(WARMUP) });
}

function storeCost(backend: string, cache: StoreCache): Row {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + N; i++) {
    const cr = cacheRequest({ ...(JSON.parse(BODY) as Record<string, unknown>), seed: i }, false);
    const key = cache.keyFor(cr)!;
    const started = performance.now();
    cache.store(cr, key, ANSWER);
    if (i >= WARMUP) samples.push((performance.now() - started) * 1000);
  }
  return { backend, what: 'store() call', samples };
}

const memory = createResponseCache(policy({}), { clock: systemClock, logger: silentLogger() }) as StoreCache;
await hits('memory', memory, false);
await hits('memory', memory, true);
await memory.close();

const redis = await findRedis();
if (redis !== null) {
  const cache = createResponseCache(policy({ backend: 'redis', url: redis.url }), {
    clock: systemClock,
    logger: silentLogger(),
  }) as StoreCache;
  const store = cache.backend as RedisStore;
  if (!store.ready) await clientEvent(store.client, 'ready');
  await hits('redis', cache, false);
  await hits('redis', cache, true);
  rows.push(storeCost('redis (up)', cache));
  await cache.flush();
  if (redis.controllable) {
    const lost = clientEvent(store.client, 'close');
    await redis.stop();
    await lost;
    rows.push(storeCost('redis (down)', cache));
    await cache.flush();
    rows.push({ ...storeCost('redis (down)', cache), what: 'store() call, breaker open' });
    await cache.flush();
  }
  await cache.close();
  await redis.close();
}

const fmt = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
console.log(`cache-hit bench: N=${N} sequential after ${WARMUP} warm-up, node ${process.version}\n`);
console.log(
  [
    'backend'.padEnd(14),
    'measure'.padEnd(28),
    'p50'.padStart(10),
    'p99'.padStart(10),
    'max'.padStart(10),
  ].join(' '),
);
for (const r of rows) {
  const s = [...r.samples].sort((a, b) => a - b);
  console.log(
    [
      r.backend.padEnd(14),
      r.what.padEnd(28),
      fmt(pct(s, 0.5)).padStart(10),
      fmt(pct(s, 0.99)).padStart(10),
      fmt(s.at(-1)!).padStart(10),
    ].join(' '),
  );
}
