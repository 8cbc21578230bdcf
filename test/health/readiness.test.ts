import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/breaker/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import { judgeReadiness, type BreakerLookup } from '../../src/health/index.ts';
import { parsePolicy, type Policy } from '../../src/policy/index.ts';

const RUNNING = { started: true, shuttingDown: false };

function policy(readiness: string, routes?: string): Policy {
  return parsePolicy(
    `
readiness: ${readiness}
upstreams:
  max-gpu: { url: "http://127.0.0.1:1", breaker: { failureThreshold: 1, recoveryTimeout: 10s, jitter: 0 } }
  ollama-cpu: { url: "http://127.0.0.1:2", breaker: { failureThreshold: 1, recoveryTimeout: 10s, jitter: 0 } }
${
  routes ??
  `routes:
  - name: chat
    chain: [{ upstream: max-gpu }, { upstream: ollama-cpu }, { cache: {} }, { degraded: {} }]
  - name: embed
    match: { pathPrefix: /v1/embeddings }
    chain: [{ upstream: max-gpu }, { upstream: ollama-cpu }]`
}
`,
    { file: null, env: {} },
  );
}

interface World {
  clock: ManualClock;
  lookup: BreakerLookup;
  trip(name: string): void;
  cacheBreaker: CircuitBreaker;
}

function world(p: Policy, withCache = false): World {
  const clock = new ManualClock();
  const breakers = new Map(
    p.upstreams.map((u) => [u.name, new CircuitBreaker(u.name, u.breaker, { clock, random: () => 0 })]),
  );
  const cacheBreaker = new CircuitBreaker('cache', p.cache.breaker, { clock, random: () => 0 });
  return {
    clock,
    cacheBreaker,
    lookup: { upstream: (n) => breakers.get(n), cache: withCache ? cacheBreaker : null },
    trip(name) {
      const b = breakers.get(name)!;
      b.failure(b.tryAcquire()!, { kind: 'status', message: 'HTTP 503' });
    },
  };
}

describe('judgeReadiness', () => {
  it('is ready at level primary when every breaker is closed', () => {
    const p = policy('any-upstream');
    const r = judgeReadiness(p, world(p).lookup, RUNNING);
    expect(r).toMatchObject({
      ready: true,
      status: 'ready',
      mode: 'any-upstream',
      level: 'primary',
      reason: null,
    });
    expect(r.upstreams).toEqual({
      'max-gpu': { state: 'closed', available: true },
      'ollama-cpu': { state: 'closed', available: true },
    });
    expect(r.routes).toEqual({ chat: 'primary', embed: 'primary' });
  });

  it('stays ready but degraded in any-upstream mode when only the primary is open', () => {
    const p = policy('any-upstream');
    const w = world(p);
    w.trip('max-gpu');
    const r = judgeReadiness(p, w.lookup, RUNNING);
    expect(r.ready).toBe(true);
    expect(r.level).toBe('degraded');
    expect(r.upstreams['max-gpu']).toEqual({ state: 'open', available: false });
  });

  it('fails any-upstream when a route has no upstream tier available', () => {
    const p = policy('any-upstream');
    const w = world(p);
    w.trip('max-gpu');
    w.trip('ollama-cpu');
    const r = judgeReadiness(p, w.lookup, RUNNING);
    expect(r.ready).toBe(false);
    expect(r.status).toBe('not_ready');
    expect(r.reason).toBe('route chat: no upstream tier available');
    // chat can still answer from its degraded tier; embed cannot answer at all.
    expect(r.routes).toEqual({ chat: 'degraded', embed: 'down' });
    expect(r.level).toBe('down');
  });

  it('fails primary mode when the first upstream tier is open', () => {
    const p = policy('primary');
    const w = world(p);
    w.trip('max-gpu');
    const r = judgeReadiness(p, w.lookup, RUNNING);
    expect(r.ready).toBe(false);
    expect(r.reason).toBe('route chat: first upstream tier not available');
  });

  it('counts an open breaker whose recovery time has passed as available', () => {
    const p = policy('primary');
    const w = world(p);
    w.trip('max-gpu');
    expect(judgeReadiness(p, w.lookup, RUNNING).ready).toBe(false);
    w.clock.advance(10_000);
    const r = judgeReadiness(p, w.lookup, RUNNING);
    expect(r.ready).toBe(true);
    expect(r.upstreams['max-gpu']).toEqual({ state: 'open', available: true });
  });

  it('keeps chain mode ready while every route can still answer', () => {
    const routes = `routes:
  - name: chat
    chain: [{ upstream: max-gpu }, { upstream: ollama-cpu }, { degraded: {} }]`;
    const p = policy('chain', routes);
    const w = world(p);
    w.trip('max-gpu');
    w.trip('ollama-cpu');
    const r = judgeReadiness(p, w.lookup, RUNNING);
    expect(r).toMatchObject({ ready: true, level: 'degraded', routes: { chat: 'degraded' } });
  });

  it('fails chain mode when a route has nothing left that could answer', () => {
    const p = policy('chain');
    const w = world(p);
    w.trip('max-gpu');
    w.trip('ollama-cpu');
    const r = judgeReadiness(p, w.lookup, RUNNING);
    expect(r.ready).toBe(false);
    expect(r.reason).toBe('route embed: no tier can answer');
  });

  it('counts a cache tier only while the cache store breaker is available', () => {
    const routes = `routes:
  - name: chat
    chain: [{ upstream: max-gpu }, { cache: {} }]`;
    const p = policy('chain', routes);
    const w = world(p, true);
    w.trip('max-gpu');
    expect(judgeReadiness(p, w.lookup, RUNNING).ready).toBe(true);
    w.cacheBreaker.forceOpen();
    expect(judgeReadiness(p, w.lookup, RUNNING)).toMatchObject({ ready: false, level: 'down' });
  });

  it('is ready in always mode even with every upstream open', () => {
    const p = policy('always');
    const w = world(p);
    w.trip('max-gpu');
    w.trip('ollama-cpu');
    expect(judgeReadiness(p, w.lookup, RUNNING)).toMatchObject({ ready: true, level: 'down' });
  });

  it('is not ready when shutting down whatever the mode', () => {
    const p = policy('always');
    const r = judgeReadiness(p, world(p).lookup, { started: true, shuttingDown: true });
    expect(r).toMatchObject({ ready: false, shutting_down: true, reason: 'shutting down', level: 'primary' });
  });

  it('is not ready before startup completes', () => {
    const p = policy('always');
    expect(judgeReadiness(p, world(p).lookup, { started: false, shuttingDown: false })).toMatchObject({
      ready: false,
      reason: 'starting',
    });
  });

  it('ignores routes without upstream tiers in any-upstream mode', () => {
    const routes = `routes:
  - name: static
    chain: [{ degraded: {} }]`;
    const p = policy('any-upstream', routes);
    expect(judgeReadiness(p, world(p).lookup, RUNNING)).toMatchObject({
      ready: true,
      routes: { static: 'primary' },
    });
  });
});
