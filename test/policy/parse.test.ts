import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ManualClock } from '../../src/clock/index.ts';
import { parsePolicy, type Policy } from '../../src/policy/index.ts';

const MINIMAL = `upstreams:
  max-gpu:
    url: http://max-serve:8000
  ollama-cpu:
    url: http://ollama:11434
`;

const parse = (text: string, env: Record<string, string> = {}): Policy =>
  parsePolicy(text, { file: null, env });

const DEFAULT_BREAKER = {
  failureThreshold: 3,
  recoveryTimeoutMs: 30_000,
  successThreshold: 2,
  halfOpenMaxRequests: 1,
  backoffMultiplier: 2,
  maxRecoveryTimeoutMs: 300_000,
  jitter: 0.1,
  failureRate: null,
};

describe('parsePolicy', () => {
  it('applies every default when the file names only upstream urls', () => {
    const clock = new ManualClock(1_700_000_123_000);
    const p = parsePolicy(MINIMAL, { file: null, env: {}, clock });
    expect(p.source).toEqual({
      file: null,
      sha256: createHash('sha256').update(MINIMAL).digest('hex'),
      loadedAtMs: 1_700_000_123_000,
    });
    expect(p.listen).toEqual({
      proxy: [{ host: '127.0.0.1', port: 15001 }],
      admin: { host: '127.0.0.1', port: 15000 },
      health: { host: '0.0.0.0', port: 15021 },
    });
    expect(p.admin).toEqual({ token: null, allowedHosts: null });
    expect(p.resolver).toBe('system');
    expect(p.readiness).toBe('any-upstream');
    expect(p.shutdown).toEqual({ drainDelayMs: 5_000, quietPeriodMs: 1_000, timeoutMs: 25_000 });
    expect(p.limits).toEqual({
      maxRequestBodyBytes: 8 * 1024 * 1024,
      maxJsonDepth: 64,
      maxJsonMembers: 20_000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 300_000,
      bodyIdleTimeoutMs: 30_000,
      maxResponseBodyBytes: 32 * 1024 * 1024,
      maxStreamLineBytes: 1024 * 1024,
      maxBufferedBytes: 32 * 1024 * 1024,
    });
    expect(p.upstreams.map((u) => u.name)).toEqual(['max-gpu', 'ollama-cpu']);
    const max = p.upstreams[0]!;
    expect({ ...max, failOn: [...max.failOn] }).toEqual({
      name: 'max-gpu',
      origin: 'http://max-serve:8000',
      basePath: '/',
      authority: 'max-serve:8000',
      hostname: 'max-serve',
      port: 8000,
      timeouts: { connectMs: 1_000, firstByteMs: 5_000, idleMs: 30_000, totalMs: null },
      breaker: DEFAULT_BREAKER,
      maxConcurrent: 64,
      fleetMaxConcurrent: null,
      failOn: [500, 502, 503, 504],
      headers: {},
      healthCheck: null,
    });
    expect(p.fleet).toBeNull();
    expect(p.cache).toEqual({
      backend: 'memory',
      url: null,
      ttlMs: 3_600_000,
      maxEntries: 10_000,
      maxBytes: 64 * 1024 * 1024,
      maxEntryBytes: 1024 * 1024,
      keyPrefix: 'breakwater:',
      keyHeaders: [
        'authorization',
        'proxy-authorization',
        'cookie',
        'x-api-key',
        'api-key',
        'x-goog-api-key',
        'openai-organization',
        'openai-project',
        'ocp-apim-subscription-key',
      ],
      commandTimeoutMs: 50,
      breaker: { ...DEFAULT_BREAKER, recoveryTimeoutMs: 5_000 },
    });
  });

  it('builds one catch-all route chaining every upstream in file order when routes are absent', () => {
    const p = parse(MINIMAL);
    expect(p.routes).toEqual([
      {
        name: 'default',
        match: { hosts: null, pathPrefix: '/' },
        chain: [
          { kind: 'upstream', upstream: 'max-gpu', models: {}, continueOnNextTier: false },
          { kind: 'upstream', upstream: 'ollama-cpu', models: {}, continueOnNextTier: false },
          { kind: 'cache', maxStaleMs: null },
          { kind: 'degraded', message: 'Service temporarily unavailable', status: 200 },
        ],
      },
    ]);
  });

  it('keeps the order written when upstream names would sort differently', () => {
    const p = parse(
      'upstreams:\n  zeta: {url: "http://z"}\n  alpha: {url: "http://a"}\n  mid: {url: "http://m"}\n',
    );
    expect(p.upstreams.map((u) => u.name)).toEqual(['zeta', 'alpha', 'mid']);
  });

  it('reads every duration and size form when they are written with units', () => {
    const p = parse(`
upstreams:
  a:
    url: http://a:1
    timeout: { connect: 250ms, firstByte: 1.5s, idle: 1m, total: 1h }
    breaker: { recoveryTimeout: 1m30s, failureRate: { threshold: 25%, window: 10s } }
cache: { maxBytes: 1GiB, maxEntryBytes: 512KiB, ttl: 2h }
limits: { maxRequestBody: 1MB }
`);
    const a = p.upstreams[0]!;
    expect(a.timeouts).toEqual({ connectMs: 250, firstByteMs: 1_500, idleMs: 60_000, totalMs: 3_600_000 });
    expect(a.breaker.recoveryTimeoutMs).toBe(90_000);
    expect(a.breaker.failureRate).toEqual({ threshold: 0.25, windowMs: 10_000, minimumRequests: 10 });
    expect(p.cache.maxBytes).toBe(1024 ** 3);
    expect(p.cache.maxEntryBytes).toBe(512 * 1024);
    expect(p.cache.ttlMs).toBe(7_200_000);
    expect(p.limits.maxRequestBodyBytes).toBe(1_000_000);
  });

  it('takes the url apart when it has a path, a default port and upper case', () => {
    const p = parse(
      'upstreams:\n  a: { url: "https://LLM.example.com/v1/" }\n  b: { url: "http://[::1]:8000" }\n',
    );
    expect(p.upstreams[0]).toMatchObject({
      origin: 'https://llm.example.com',
      basePath: '/v1',
      authority: 'llm.example.com',
      hostname: 'llm.example.com',
      port: 443,
    });
    expect(p.upstreams[1]).toMatchObject({ authority: '[::1]:8000', hostname: '::1', port: 8000 });
  });

  it('turns url userinfo into basic auth when the upstream sets no authorization header', () => {
    const p = parse('upstreams:\n  a: { url: "http://user:p%40ss@a:1" }\n');
    expect(p.upstreams[0]!.headers).toEqual({ authorization: `Basic ${btoa('user:p@ss')}` });
    expect(p.upstreams[0]!.origin).toBe('http://a:1');
  });

  it('lower-cases header names and route hosts when they are written in mixed case', () => {
    const p = parse(`
upstreams:
  a: { url: "http://a:1", headers: { X-Tenant: blue } }
routes:
  - name: r
    match: { host: [Max-Serve:8000, OLLAMA] }
    chain: [{ upstream: a }]
`);
    expect(p.upstreams[0]!.headers).toEqual({ 'x-tenant': 'blue' });
    expect(p.routes[0]!.match.hosts).toEqual(['max-serve:8000', 'ollama']);
  });

  it('compiles each tier kind when a route lists them', () => {
    const p = parse(`
upstreams: { a: { url: "http://a:1" } }
routes:
  - name: chat
    match: { pathPrefix: /v1/, host: max-serve }
    chain:
      - upstream: a
        models: { "*": "llama3.1:8b" }
        continueOnNextTier: true
      - cache: { maxStale: 10m }
      - cache:
      - degraded: { message: busy, status: 503 }
`);
    expect(p.routes[0]).toEqual({
      name: 'chat',
      match: { hosts: ['max-serve'], pathPrefix: '/v1/' },
      chain: [
        { kind: 'upstream', upstream: 'a', models: { '*': 'llama3.1:8b' }, continueOnNextTier: true },
        { kind: 'cache', maxStaleMs: 600_000 },
        { kind: 'cache', maxStaleMs: null },
        { kind: 'degraded', message: 'busy', status: 503 },
      ],
    });
  });

  it('reads listen addresses when proxy is a list with IPv6', () => {
    const p = parse(`
listen: { proxy: ["127.0.0.1:8000", "[::1]:8001"], admin: "localhost:0", health: "[::]:15021" }
resolver: dns
readiness: chain
upstreams: { a: { url: "http://a:1" } }
`);
    expect(p.listen.proxy).toEqual([
      { host: '127.0.0.1', port: 8000 },
      { host: '::1', port: 8001 },
    ]);
    expect(p.listen.admin).toEqual({ host: 'localhost', port: 0 });
    expect(p.listen.health).toEqual({ host: '::', port: 15021 });
    expect(p.resolver).toBe('dns');
    expect(p.readiness).toBe('chain');
  });

  it('accepts a non-loopback admin listener when a token is set', () => {
    const p = parse(
      'listen: { admin: 0.0.0.0:15000 }\nadmin: { token: s3cret }\nupstreams: { a: { url: "http://a" } }\n',
    );
    expect(p.admin.token).toBe('s3cret');
  });

  it('resolves source.file to an absolute path when a relative file is given', () => {
    const p = parsePolicy(MINIMAL, { file: 'config/minimal.yaml', env: {} });
    expect(p.source.file).toMatch(/^\/.*\/config\/minimal\.yaml$/);
  });

  it('throws on mutation when the result is deep-frozen', () => {
    const p = parse(MINIMAL);
    const u = p.upstreams[0]!;
    expect(Object.isFrozen(p)).toBe(true);
    expect(() => {
      (p as { readiness: string }).readiness = 'always';
    }).toThrow(TypeError);
    expect(() => {
      (u.timeouts as { connectMs: number }).connectMs = 1;
    }).toThrow(TypeError);
    expect(() => (p.upstreams as unknown[]).push(u)).toThrow(TypeError);
    expect(() => (u.failOn as Set<number>).add(418)).toThrow(TypeError);
    expect(() => (u.failOn as Set<number>).delete(500)).toThrow(TypeError);
    expect(u.failOn.has(503)).toBe(true);
    expect(() => {
      (p.redacted as { readiness: string }).readiness = 'x';
    }).toThrow(TypeError);
  });

  it('parses its own redacted view back to the same policy when nothing is secret', () => {
    const text = `
upstreams:
  max-gpu:
    url: http://max-serve:8000/base
    timeout: { total: 2m }
    breaker: { failureRate: { threshold: 30% } }
    healthCheck: { expectModel: m }
    failOn: [502, 500]
  ollama-cpu: { url: "http://ollama:11434" }
cache: { maxEntryBytes: 100B }
`;
    const p = parse(text);
    const again = parse(stringify(p.redacted));
    const { source: _a, ...first } = p;
    const { source: _b, ...second } = again;
    expect(second).toEqual(first);
  });

  it('clamps values that cannot apply when defaults contradict a set value', () => {
    const p = parse(`
upstreams: { a: { url: "http://a", breaker: { recoveryTimeout: 10m } } }
cache: { maxBytes: 1KiB }
shutdown: { timeout: 2s }
`);
    expect(p.upstreams[0]!.breaker.maxRecoveryTimeoutMs).toBe(600_000);
    expect(p.cache.maxEntryBytes).toBe(1024);
    expect(p.shutdown.drainDelayMs).toBe(2_000);
  });
});
