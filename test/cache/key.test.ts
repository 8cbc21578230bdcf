import { describe, expect, it } from 'vitest';
import { cacheKey, canonicalBody, keyHeaderIndex } from '../../src/cache/index.ts';
import { CACHE_KEY_HEADERS } from '../../src/policy/index.ts';
import type { EndpointInfo } from '../../src/protocol/index.ts';
import { cacheRequest, type RequestOptions } from './helpers.ts';

const CHAT = '/v1/chat/completions';
const body = {
  model: 'llama3',
  messages: [{ role: 'user', content: 'hi', name: 'x' }],
  temperature: 0,
};

describe('canonicalBody', () => {
  it('gives the same text when keys are in another order at every depth', () => {
    const a = { model: 'm', options: { b: 1, a: { y: [1, { q: 1, p: 2 }], x: null } } };
    const b = { options: { a: { x: null, y: [1, { p: 2, q: 1 }] }, b: 1 }, model: 'm' };
    expect(canonicalBody(a)).toBe(canonicalBody(b));
    expect(canonicalBody(a)).toBe('{"model":"m","options":{"a":{"x":null,"y":[1,{"p":2,"q":1}]},"b":1}}');
  });

  it('keeps array order when arrays differ only by order', () => {
    expect(canonicalBody({ a: [1, 2] })).not.toBe(canonicalBody({ a: [2, 1] }));
  });

  it('writes arrays of scalars and of containers alike when they are mixed at any depth', () => {
    const v = { b: [1, 'two', null, true, 1.5e300, [3, { z: 1, a: [] }], {}], a: { '': [[]], é: '\u2028"' } };
    expect(canonicalBody(v)).toBe(
      '{"a":{"":[[]],"é":"\u2028\\""},"b":[1,"two",null,true,1.5e+300,[3,{"a":[],"z":1}],{}]}',
    );
    expect(canonicalBody(v)).toBe(JSON.stringify(JSON.parse(canonicalBody(v))));
  });

  it('does not throw when arrays are nested 100 000 deep', () => {
    const depth = 100_000;
    const deep = JSON.parse(`{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`) as Record<string, unknown>;
    expect(canonicalBody(deep)).toBe(`{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`);
  });

  it('does not throw when objects are nested 100 000 deep', () => {
    const depth = 100_000;
    const text = `${'{"k":'.repeat(depth)}1${'}'.repeat(depth)}`;
    expect(canonicalBody(JSON.parse(text) as Record<string, unknown>)).toBe(text);
  });

  it('leaves out stream, stream_options, user and keep_alive when they are at the top level', () => {
    const text = canonicalBody({
      model: 'm',
      stream: true,
      stream_options: { include_usage: true },
      user: 'u-1',
      keep_alive: '5m',
      nested: { stream: true, user: 'kept' },
    });
    expect(text).toBe('{"model":"m","nested":{"stream":true,"user":"kept"}}');
  });
});

const DEFAULT_KEY_HEADERS = keyHeaderIndex(CACHE_KEY_HEADERS);

describe('cacheKey', () => {
  const key = (path: string, b: Record<string, unknown>, o: RequestOptions = {}) =>
    cacheKey('p:', DEFAULT_KEY_HEADERS, cacheRequest(path, b, o));

  it('is the prefix then a sha256 hex when the request is cacheable', () => {
    expect(key(CHAT, body)).toMatch(/^p:[0-9a-f]{64}$/);
  });

  it('is equal when the bodies differ only by key order and stream flags', () => {
    const reordered = {
      temperature: 0,
      messages: [{ name: 'x', content: 'hi', role: 'user' }],
      model: 'llama3',
    };
    expect(
      key(CHAT, { ...reordered, stream: true, stream_options: { include_usage: true }, user: 'a' }),
    ).toBe(key(CHAT, body));
  });

  it('differs when the content, model, route or path differ', () => {
    const base = key(CHAT, body);
    expect(key(CHAT, { ...body, temperature: 0.5 })).not.toBe(base);
    expect(key(CHAT, { ...body, model: 'other' })).not.toBe(base);
    expect(key(CHAT, body, { routeName: 'other' })).not.toBe(base);
    expect(key('/openai/v1/chat/completions', body)).not.toBe(base);
  });

  it('separates answers when the Authorization header differs or is absent', () => {
    const alice = key(CHAT, body, { authorization: 'Bearer alice' });
    const bob = key(CHAT, body, { authorization: 'Bearer bob' });
    const none = key(CHAT, body);
    expect(new Set([alice, bob, none]).size).toBe(3);
    expect(key(CHAT, body, { authorization: 'Bearer alice' })).toBe(alice);
  });

  it.each(['X-Api-Key', 'api-key', 'cookie', 'x-goog-api-key', 'openai-organization', 'openai-project'])(
    'separates answers when %s differs or is absent',
    (name) => {
      const alice = key(CHAT, body, { rawHeaders: [name, 'alice'] });
      const bob = key(CHAT, body, { rawHeaders: [name, 'bob'] });
      const none = key(CHAT, body, { rawHeaders: [] });
      expect(new Set([alice, bob, none]).size).toBe(3);
      expect(key(CHAT, body, { rawHeaders: [name.toUpperCase(), 'alice'] })).toBe(alice);
    },
  );

  it('separates answers when a repeated credential header has another value', () => {
    const one = key(CHAT, body, { rawHeaders: ['Cookie', 'session=a'] });
    const two = key(CHAT, body, { rawHeaders: ['Cookie', 'session=a', 'Cookie', 'theme=dark'] });
    expect(two).not.toBe(one);
  });

  it('does not confuse two credential headers when their values are swapped', () => {
    const a = key(CHAT, body, { rawHeaders: ['x-api-key', 'k1', 'api-key', 'k2'] });
    const b = key(CHAT, body, { rawHeaders: ['x-api-key', 'k2', 'api-key', 'k1'] });
    const c = key(CHAT, body, { rawHeaders: ['api-key', 'k2', 'x-api-key', 'k1'] });
    expect(a).not.toBe(b);
    expect(c).toBe(a);
  });

  it('ignores headers outside the key headers when they differ', () => {
    const a = key(CHAT, body, { rawHeaders: ['x-api-key', 'k', 'user-agent', 'one', 'x-request-id', '1'] });
    const b = key(CHAT, body, { rawHeaders: ['user-agent', 'two', 'x-api-key', 'k', 'x-request-id', '2'] });
    expect(a).toBe(b);
  });

  it('partitions by the configured headers only when cache.keyHeaders is set', () => {
    const tenant = keyHeaderIndex(['x-tenant']);
    const k = (raw: string[]) => cacheKey('p:', tenant, cacheRequest(CHAT, body, { rawHeaders: raw }));
    expect(k(['x-tenant', 'a'])).not.toBe(k(['x-tenant', 'b']));
    expect(k(['x-tenant', 'a', 'authorization', 'Bearer 1'])).toBe(
      k(['x-tenant', 'a', 'authorization', 'Bearer 2']),
    );
    const shared = keyHeaderIndex([]);
    const s = (raw: string[]) => cacheKey('p:', shared, cacheRequest(CHAT, body, { rawHeaders: raw }));
    expect(s(['authorization', 'Bearer 1'])).toBe(s([]));
  });

  it('does not contain the credential when Authorization is set', () => {
    expect(key(CHAT, body, { authorization: 'Bearer secret-token' })).not.toContain('secret');
    expect(key(CHAT, body, { rawHeaders: ['x-api-key', 'secret-key'] })).not.toContain('secret');
  });

  it('is null when the request says no-store', () => {
    expect(key(CHAT, body, { noStore: true })).toBeNull();
  });

  it('is null when the body is not a JSON object', () => {
    expect(cacheKey('p:', DEFAULT_KEY_HEADERS, { ...cacheRequest(CHAT, body), json: null })).toBeNull();
  });

  it('is null when the endpoint is not cacheable', () => {
    const req = cacheRequest(CHAT, body);
    const endpoint: EndpointInfo = { ...req.endpoint, cacheable: false };
    expect(cacheKey('p:', DEFAULT_KEY_HEADERS, { ...req, endpoint })).toBeNull();
  });

  it('covers every cacheable endpoint when the paths are OpenAI or Ollama ones', () => {
    const paths = [
      '/v1/chat/completions',
      '/v1/completions',
      '/v1/embeddings',
      '/api/chat',
      '/api/generate',
      '/api/embed',
    ];
    const keys = paths.map((p) => key(p, body));
    expect(keys.every((k) => k !== null)).toBe(true);
    expect(new Set(keys).size).toBe(paths.length);
  });
});
