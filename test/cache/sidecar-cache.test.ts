import OpenAI from 'openai';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisStore, StoreCache, createResponseCache } from '../../src/cache/index.ts';
import { systemClock } from '../../src/clock/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { clientEvent, findRedis } from '../helpers/redis.ts';
import { chatBody, defaultPolicy, startStack, type Stack } from '../helpers/stack.ts';

// The cache tier end to end: a real sidecar, mock MAX and Ollama, the cache its policy names.

const redis = await findRedis();
afterAll(async () => {
  await redis?.close();
});

let stack: Stack | null = null;
let cache: StoreCache | null = null;

afterEach(async () => {
  await stack?.close();
  stack = null;
  cache = null;
  if (redis?.controllable) {
    redis.resume();
    await redis.start();
  }
});

async function start(cacheYaml: string): Promise<{ stack: Stack; cache: StoreCache }> {
  stack = await startStack({
    policy: (max, ollama) => defaultPolicy(max, ollama, cacheYaml),
    cache: (p) => {
      const c = createResponseCache(p.cache, { clock: systemClock, logger: silentLogger() });
      if (!(c instanceof StoreCache)) throw new Error('expected a StoreCache');
      return (cache = c);
    },
  });
  return { stack, cache: cache! };
}

async function post(s: Stack, body: Record<string, unknown>) {
  const started = performance.now();
  const res = await fetch(`${s.proxyUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer app' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    tier: res.headers.get('x-breakwater-tier'),
    age: res.headers.get('age'),
    text,
    ms: performance.now() - started,
  };
}

async function failBoth(s: Stack): Promise<void> {
  await s.max.setFault({ mode: 'status', status: 503 });
  await s.ollama.setFault({ mode: 'status', status: 503 });
}

const contentOf = (text: string): unknown =>
  (JSON.parse(text) as { choices: { message: { content: unknown } }[] }).choices[0]!.message.content;

describe('cache tier in the sidecar', () => {
  it('serves the stored answer when both upstreams fail after a success', async () => {
    const { stack: s, cache: c } = await start('cache: { backend: memory }');
    const first = await post(s, chatBody());
    expect(first.tier).toBe('max-gpu');
    await c.flush();
    await failBoth(s);
    const again = await post(s, chatBody());
    expect(again.status).toBe(200);
    expect(again.tier).toBe('cache');
    expect(again.age).toBe('0');
    expect(contentOf(again.text)).toBe(contentOf(first.text));
    const openai = new OpenAI({ baseURL: `${s.proxyUrl}/v1`, apiKey: 'app', maxRetries: 0 });
    let streamed = '';
    for await (const ch of await openai.chat.completions.create({
      ...(chatBody() as { model: string; messages: [] }),
      stream: true,
    })) {
      streamed += ch.choices[0]?.delta.content ?? '';
    }
    expect(streamed).toBe(contentOf(first.text));
  });

  it('falls through to the degraded answer when the question was never answered', async () => {
    const { stack: s } = await start('cache: { backend: memory }');
    await failBoth(s);
    const r = await post(s, chatBody({ messages: [{ role: 'user', content: 'never seen' }] }));
    expect(r.tier).toBe('degraded');
  });

  it.skipIf(redis === null)('serves the stored answer from Redis when both upstreams fail', async () => {
    const { stack: s, cache: c } = await start(
      `cache: { backend: redis, url: "${redis!.url}", keyPrefix: "bw-e2e-${Date.now()}:", commandTimeout: 1s }`,
    );
    const store = c.backend as RedisStore;
    if (!store.ready) await clientEvent(store.client, 'ready');
    const first = await post(s, chatBody());
    await c.flush();
    await failBoth(s);
    const again = await post(s, chatBody());
    expect(again.tier).toBe('cache');
    expect(contentOf(again.text)).toBe(contentOf(first.text));
  });

  it.skipIf(!redis?.controllable)(
    'keeps upstream answers fast when Redis is killed or hangs mid-run',
    async () => {
      // A command timeout far above an upstream answer: if a write ever held up a response, the
      // response would take at least 5 s. The 2 s bound leaves a wide margin for a busy machine.
      const yaml = `cache: { backend: redis, url: "${redis!.url}", commandTimeout: 5s, breaker: { failureThreshold: 1000 } }`;
      const { stack: s, cache: c } = await start(yaml);
      const store = c.backend as RedisStore;
      if (!store.ready) await clientEvent(store.client, 'ready');
      const ask = (i: number) => post(s, chatBody({ messages: [{ role: 'user', content: `q${i}` }] }));
      for (let i = 0; i < 5; i++) expect((await ask(i)).tier).toBe('max-gpu');

      redis!.pause();
      for (let i = 10; i < 20; i++) {
        const r = await ask(i);
        expect(r.tier).toBe('max-gpu');
        expect(r.ms).toBeLessThan(2_000);
      }
      // The answers above were recorded: their writes are still waiting on the frozen Redis.
      expect(c.pendingWrites).toBeGreaterThan(0);
      redis!.resume();
      await c.flush();

      const lost = clientEvent(store.client, 'close');
      await redis!.stop();
      await lost;
      for (let i = 20; i < 30; i++) {
        const r = await ask(i);
        expect(r.tier).toBe('max-gpu');
        expect(r.ms).toBeLessThan(2_000);
      }
      await failBoth(s);
      // Redis down: the cache tier skips and the chain ends with the degraded answer, quickly.
      const down = await ask(0);
      expect(down.tier).toBe('degraded');
      expect(down.ms).toBeLessThan(2_000);
    },
  );
});
