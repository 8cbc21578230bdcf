import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { drain, type DrainOutcome, type DrainTarget } from '../../src/sidecar/index.ts';

const POLICY = { drainDelayMs: 5_000, quietPeriodMs: 1_000, timeoutMs: 25_000 };

/** A stand-in for the proxy: requests start and end by hand on a ManualClock. */
class FakeProxy implements DrainTarget {
  inflight = 0;
  lastActivityMs: number;
  #waiters: (() => void)[] = [];
  readonly #clock: ManualClock;

  constructor(clock: ManualClock) {
    this.#clock = clock;
    this.lastActivityMs = clock.now();
  }

  start(): void {
    this.inflight++;
    this.lastActivityMs = this.#clock.now();
  }

  end(): void {
    this.inflight--;
    this.lastActivityMs = this.#clock.now();
    if (this.inflight === 0) for (const w of this.#waiters.splice(0)) w();
  }

  whenIdle(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((r) => this.#waiters.push(r));
  }
}

function track(p: Promise<DrainOutcome>): { outcome: DrainOutcome | null; done: Promise<void> } {
  const t: { outcome: DrainOutcome | null; done: Promise<void> } = { outcome: null, done: Promise.resolve() };
  t.done = p.then((o) => void (t.outcome = o));
  return t;
}

/** Lets promise callbacks run (whenIdle resolutions). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('drain', () => {
  it('ends quiet once the drain delay has passed when nothing is in flight', async () => {
    const clock = new ManualClock();
    const t = track(drain(new FakeProxy(clock), POLICY, clock));
    clock.advance(4_999);
    await flush();
    expect(t.outcome).toBeNull();
    clock.advance(1);
    await t.done;
    expect(t.outcome).toBe('quiet');
    expect(clock.pendingTimers).toBe(0);
  });

  it('waits for requests in flight and then the quiet period', async () => {
    const clock = new ManualClock();
    const proxy = new FakeProxy(clock);
    proxy.start();
    const t = track(drain(proxy, POLICY, clock));
    clock.advance(8_000);
    await flush();
    expect(t.outcome).toBeNull();
    proxy.end();
    await flush();
    clock.advance(999);
    await flush();
    expect(t.outcome).toBeNull();
    clock.advance(1);
    await t.done;
    expect(t.outcome).toBe('quiet');
  });

  it('pushes the end back when a new request arrives during the drain', async () => {
    const clock = new ManualClock();
    const proxy = new FakeProxy(clock);
    const t = track(drain(proxy, POLICY, clock));
    clock.advance(4_500);
    proxy.start();
    clock.advance(100);
    proxy.end();
    clock.advance(400);
    await flush();
    // 5 s have passed but the last request ended only 400 ms ago.
    expect(t.outcome).toBeNull();
    clock.advance(600);
    await t.done;
    expect(t.outcome).toBe('quiet');
  });

  it('gives up at the shutdown timeout while requests are still in flight', async () => {
    const clock = new ManualClock();
    const proxy = new FakeProxy(clock);
    proxy.start();
    const t = track(drain(proxy, POLICY, clock));
    clock.advance(25_000);
    await t.done;
    expect(t.outcome).toBe('timeout');
    expect(clock.pendingTimers).toBe(0);
  });
});
