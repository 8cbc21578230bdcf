import { afterEach, describe, expect, it } from 'vitest';
import { StoreCache, createResponseCache } from '../../src/cache/index.ts';
import { systemClock } from '../../src/clock/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { chatBody, defaultPolicy, startStack, type Stack } from '../helpers/stack.ts';

// Answers stored for one caller are never served to another: the cache key hashes every
// credential-bearing header (cache.keyHeaders), not only Authorization.

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

async function start(cacheYaml: string): Promise<{ s: Stack; cache: StoreCache }> {
  let cache: StoreCache | null = null;
  stack = await startStack({
    policy: (max, ollama) => defaultPolicy(max, ollama, cacheYaml),
    cache: (p) => {
      const c = createResponseCache(p.cache, { clock: systemClock, logger: silentLogger() });
      if (!(c instanceof StoreCache)) throw new Error('expected a StoreCache');
      return (cache = c);
    },
  });
  return { s: stack, cache: cache! };
}

async function ask(s: Stack, headers: Record<string, string>): Promise<string | null> {
  const res = await fetch(`${s.proxyUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(chatBody()),
  });
  await res.arrayBuffer();
  return res.headers.get('x-breakwater-tier');
}

async function failBoth(s: Stack): Promise<void> {
  await s.max.setFault({ mode: 'status', status: 503 });
  await s.ollama.setFault({ mode: 'status', status: 503 });
}

describe('cache isolation between callers', () => {
  it.each([
    ['x-api-key', { 'x-api-key': 'alice' }, { 'x-api-key': 'bob' }],
    ['cookie', { cookie: 'session=alice' }, { cookie: 'session=bob' }],
    ['api-key', { 'api-key': 'alice' }, { 'api-key': 'bob' }],
    ['authorization', { authorization: 'Bearer alice' }, { authorization: 'Bearer bob' }],
  ])(
    'serves the cached answer to the same %s only, never to another or to none',
    async (_name, alice, bob) => {
      const { s, cache } = await start('cache: { backend: memory }');
      expect(await ask(s, alice)).toBe('max-gpu');
      await cache.flush();
      await failBoth(s);
      expect(await ask(s, alice)).toBe('cache');
      expect(await ask(s, bob)).toBe('degraded');
      expect(await ask(s, {})).toBe('degraded');
    },
  );

  it('shares answers between callers when cache.keyHeaders is empty', async () => {
    const { s, cache } = await start('cache: { backend: memory, keyHeaders: [] }');
    expect(await ask(s, { 'x-api-key': 'alice' })).toBe('max-gpu');
    await cache.flush();
    await failBoth(s);
    expect(await ask(s, { 'x-api-key': 'bob' })).toBe('cache');
  });

  it('partitions by a header the operator adds when cache.keyHeaders names it', async () => {
    const { s, cache } = await start('cache: { backend: memory, keyHeaders: [X-Tenant] }');
    expect(await ask(s, { 'x-tenant': 'a', authorization: 'Bearer 1' })).toBe('max-gpu');
    await cache.flush();
    await failBoth(s);
    expect(await ask(s, { 'x-tenant': 'a', authorization: 'Bearer 2' })).toBe('cache');
    expect(await ask(s, { 'x-tenant': 'b', authorization: 'Bearer 1' })).toBe('degraded');
  });
});
