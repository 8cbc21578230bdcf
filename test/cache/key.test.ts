import { describe, expect, it } from 'vitest';
import { cacheKey, canonicalBody } from '../../src/cache/index.ts';
import type { EndpointInfo } from '../../src/protocol/index.ts';
import { cacheRequest } from './helpers.ts';

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

describe('cacheKey', () => {
  const key = (path: string, b: Record<string, unknown>, o = {}) => cacheKey('p:', cacheRequest(path, b, o));

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

  it('does not contain the credential when Authorization is set', () => {
    expect(key(CHAT, body, { authorization: 'Bearer secret-token' })).not.toContain('secret');
  });

  it('is null when the request says no-store', () => {
    expect(key(CHAT, body, { noStore: true })).toBeNull();
  });

  it('is null when the body is not a JSON object', () => {
    expect(cacheKey('p:', { ...cacheRequest(CHAT, body), json: null })).toBeNull();
  });

  it('is null when the endpoint is not cacheable', () => {
    const req = cacheRequest(CHAT, body);
    const endpoint: EndpointInfo = { ...req.endpoint, cacheable: false };
    expect(cacheKey('p:', { ...req, endpoint })).toBeNull();
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
