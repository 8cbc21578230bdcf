import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { HealthChecker, type ProbeReport } from '../../src/health/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { parsePolicy, type Policy } from '../../src/policy/index.ts';
import { UpstreamSet } from '../../src/upstream/index.ts';

interface Rig {
  clock: ManualClock;
  set: UpstreamSet;
  checker: HealthChecker;
  policy: Policy;
  /** Resolves with the next probe report. */
  nextProbe(): Promise<ProbeReport>;
}

const open: { mocks: MockServer[]; rigs: Rig[] } = { mocks: [], rigs: [] };

afterEach(async () => {
  for (const r of open.rigs) {
    r.checker.close();
    await r.set.destroy();
  }
  await Promise.all(open.mocks.map((m) => m.close()));
  open.mocks = [];
  open.rigs = [];
});

async function mock(kind: 'max' | 'ollama', models?: string[]): Promise<MockServer> {
  const m = await startMock({ kind, ...(models ? { models } : {}) });
  open.mocks.push(m);
  return m;
}

function rig(upstreamYaml: string): Rig {
  const clock = new ManualClock();
  const policy = parsePolicy(`upstreams:\n${upstreamYaml}`, { file: null, env: {} });
  const set = UpstreamSet.build(policy, { clock, onTransition: () => undefined, random: () => 0 }, null);
  const waiters: ((r: ProbeReport) => void)[] = [];
  const checker = new HealthChecker({
    clock,
    logger: silentLogger(),
    upstream: (n) => set.byName.get(n),
    onProbe: (r) => waiters.shift()?.(r),
  });
  const r: Rig = {
    clock,
    set,
    checker,
    policy,
    nextProbe: () => new Promise((resolve) => waiters.push(resolve)),
  };
  open.rigs.push(r);
  return r;
}

function trip(r: Rig, name = 'max-gpu'): void {
  const b = r.set.byName.get(name)!.breaker;
  while (b.state === 'closed') b.failure(b.tryAcquire()!, { kind: 'status', message: 'HTTP 503' });
}

/** Lets pending callbacks run: enough for a tick that decides not to probe (no I/O starts). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('HealthChecker', () => {
  it('half-opens an open breaker when the probe passes', async () => {
    const max = await mock('max');
    const r = rig(`  max-gpu: { url: ${max.url}, healthCheck: { path: /health, interval: 5s } }\n`);
    trip(r);
    r.checker.sync(r.policy);
    const probe = r.nextProbe();
    r.clock.advance(5_000);
    expect(await probe).toEqual({ upstream: 'max-gpu', ok: true, detail: 'HTTP 200', action: 'half_opened' });
    expect(r.set.byName.get('max-gpu')!.breaker.state).toBe('half_open');
    expect(max.stats().byPath['/health']).toBe(1);
  });

  it('leaves an open breaker open when the probe fails', async () => {
    const max = await mock('max');
    await max.setFault({ mode: 'status', status: 503, pathPrefix: '/health' });
    const r = rig(`  max-gpu: { url: ${max.url}, healthCheck: { path: /health, interval: 5s } }\n`);
    trip(r);
    r.checker.sync(r.policy);
    const probe = r.nextProbe();
    r.clock.advance(5_000);
    expect(await probe).toMatchObject({ ok: false, detail: 'HTTP 503', action: 'none' });
    expect(r.set.byName.get('max-gpu')!.breaker.state).toBe('open');
    // The loop goes on: once this probe has ended, the next interval probes again.
    await settle();
    expect(r.clock.pendingTimers).toBe(1);
    const again = r.nextProbe();
    r.clock.advance(5_000);
    expect((await again).ok).toBe(false);
    expect(max.stats().byPath['/health']).toBe(2);
  });

  it('sends no probe while the breaker is closed by default', async () => {
    const max = await mock('max');
    const r = rig(`  max-gpu: { url: ${max.url}, healthCheck: { path: /health, interval: 1s } }\n`);
    r.checker.sync(r.policy);
    r.clock.advance(1_000);
    await settle();
    r.clock.advance(1_000);
    await settle();
    expect(max.stats().requests).toBe(0);
    expect(r.checker.scheduled).toBe(1);
  });

  it('never probes a forced-open breaker', async () => {
    const max = await mock('max');
    const r = rig(
      `  max-gpu: { url: ${max.url}, healthCheck: { path: /health, interval: 1s, whileClosed: true } }\n`,
    );
    r.set.byName.get('max-gpu')!.breaker.forceOpen('maintenance');
    r.checker.sync(r.policy);
    r.clock.advance(1_000);
    await settle();
    expect(max.stats().requests).toBe(0);
    expect(r.set.byName.get('max-gpu')!.breaker.state).toBe('forced_open');
  });

  it('counts a failing probe as a breaker failure when whileClosed is set', async () => {
    const max = await mock('max');
    await max.setFault({ mode: 'status', status: 500, pathPrefix: '/health' });
    const r = rig(
      `  max-gpu: { url: ${max.url}, healthCheck: { path: /health, interval: 1s, whileClosed: true } }\n`,
    );
    r.checker.sync(r.policy);
    const probe = r.nextProbe();
    r.clock.advance(1_000);
    expect(await probe).toMatchObject({ ok: false, action: 'failure_recorded' });
    const snap = r.set.byName.get('max-gpu')!.breaker.snapshot();
    expect(snap.consecutive_failures).toBe(1);
    expect(snap.last_failure).toEqual({ kind: 'health_check', message: '/health: HTTP 500' });
  });

  it('sends the upstream Host and the tier headers on probes', async () => {
    const max = await mock('max');
    const r = rig(
      `  max-gpu: { url: ${max.url}, headers: { x-api-key: secret }, healthCheck: { path: /health, interval: 1s } }\n`,
    );
    trip(r);
    await r.checker.probeNow('max-gpu', r.policy.upstreams[0]!.healthCheck!);
    const last = max.stats().last!;
    expect(last.headers.host).toBe(new URL(max.url).host);
    expect(last.headers['x-api-key']).toBe('secret');
  });

  it('checks the model is listed by /v1/models when expectModel is set', async () => {
    const max = await mock('max', ['llama-3.1-8b']);
    const r = rig(
      `  max-gpu: { url: ${max.url}, healthCheck: { path: /health, interval: 1s, expectModel: llama-3.1-8b } }\n` +
        `  other: { url: ${max.url}, healthCheck: { path: /health, interval: 1s, expectModel: mistral } }\n`,
    );
    trip(r);
    trip(r, 'other');
    const ok = await r.checker.probeNow('max-gpu', r.policy.upstreams[0]!.healthCheck!);
    expect(ok).toMatchObject({ ok: true, action: 'half_opened' });
    const missing = await r.checker.probeNow('other', r.policy.upstreams[1]!.healthCheck!);
    expect(missing).toMatchObject({
      ok: false,
      detail: 'model mistral not listed by /v1/models',
      action: 'none',
    });
    expect(max.stats().byPath['/v1/models']).toBe(2);
  });

  it('reads /api/tags for an Ollama probe of /', async () => {
    const ollama = await mock('ollama', ['llama3.1:8b']);
    const r = rig(
      `  ollama-cpu: { url: ${ollama.url}, healthCheck: { path: /, interval: 1s, expectModel: "llama3.1:8b" } }\n`,
    );
    trip(r, 'ollama-cpu');
    const report = await r.checker.probeNow('ollama-cpu', r.policy.upstreams[0]!.healthCheck!);
    expect(report).toMatchObject({ ok: true, action: 'half_opened' });
    expect(ollama.stats().byPath['/api/tags']).toBe(1);
  });

  it('fails a probe that gets no answer within timeoutMs', async () => {
    const max = await mock('max');
    await max.setFault({ mode: 'hang' });
    const r = rig(
      `  max-gpu: { url: ${max.url}, healthCheck: { path: /health, interval: 1s, timeout: 300ms } }\n`,
    );
    trip(r);
    const report = r.checker.probeNow('max-gpu', r.policy.upstreams[0]!.healthCheck!);
    // The request must be out before the clock moves, or the timeout fires first.
    await new Promise<void>((resolve) => {
      const poll = (): void => (max.stats().requests > 0 ? resolve() : void setImmediate(poll));
      poll();
    });
    r.clock.advance(300);
    expect(await report).toMatchObject({ ok: false, detail: 'timeout after 300 ms' });
  });

  it('reports a refused connection as a failed probe', async () => {
    const max = await mock('max');
    await max.setFault({ mode: 'refuse' });
    const r = rig(`  max-gpu: { url: ${max.url}, healthCheck: { path: /health, interval: 1s } }\n`);
    trip(r);
    const report = await r.checker.probeNow('max-gpu', r.policy.upstreams[0]!.healthCheck!);
    expect(report).toMatchObject({ ok: false, detail: 'ECONNREFUSED', action: 'none' });
  });

  it('stops every timer on close and restarts loops on sync', async () => {
    const max = await mock('max');
    const r = rig(
      `  max-gpu: { url: ${max.url}, healthCheck: { path: /health, interval: 1s } }\n  plain: { url: ${max.url} }\n`,
    );
    r.checker.sync(r.policy);
    r.checker.sync(r.policy);
    expect(r.checker.scheduled).toBe(1);
    expect(r.clock.pendingTimers).toBe(1);
    r.checker.close();
    expect(r.clock.pendingTimers).toBe(0);
    r.checker.sync(r.policy);
    expect(r.checker.scheduled).toBe(0);
  });
});
