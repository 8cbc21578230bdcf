import { describe, expect, it } from 'vitest';
import { BreakerState, CircuitBreaker } from '../../src/breaker/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import { HTTP_503, acquire, breakerPolicy, failTimes, harness, succeedTimes } from './helpers.ts';

describe('CircuitBreaker generations', () => {
  it('moves no state when a permit from before the trip fails afterwards', () => {
    const { breaker, clock, transitions } = harness();
    const slow = acquire(breaker);
    failTimes(breaker, 3);
    const next = breaker.nextAttemptAtMs();
    clock.advance(20_000);
    breaker.failure(slow, HTTP_503);
    expect(breaker.state).toBe(BreakerState.OPEN);
    expect(breaker.nextAttemptAtMs()).toBe(next);
    expect(transitions).toHaveLength(1);
    expect(breaker.snapshot()).toMatchObject({ total_failures: 4, consecutive_failures: 3 });
  });

  it('does not count toward closing when a success comes from before the half-open', () => {
    const { breaker, clock } = harness({ successThreshold: 1 });
    const slow = acquire(breaker);
    failTimes(breaker, 3);
    clock.advance(30_000);
    const trial = acquire(breaker);
    breaker.success(slow);
    expect(breaker.state).toBe(BreakerState.HALF_OPEN);
    expect(breaker.snapshot()).toMatchObject({ total_successes: 1, half_open_in_flight: 1 });
    breaker.success(trial);
    expect(breaker.state).toBe(BreakerState.CLOSED);
  });

  it('frees no slot of a new half-open period when a stale trial is released', () => {
    const { breaker, clock } = harness({ halfOpenMaxRequests: 2 });
    failTimes(breaker, 3);
    clock.advance(30_000);
    const old = acquire(breaker);
    breaker.failure(acquire(breaker), HTTP_503);
    clock.advance(60_000);
    acquire(breaker);
    acquire(breaker);
    breaker.release(old);
    expect(breaker.tryAcquire()).toBeNull();
    expect(breaker.snapshot().half_open_in_flight).toBe(2);
  });

  it('does not re-open when a stale trial fails in a new half-open period', () => {
    const { breaker, clock } = harness({ halfOpenMaxRequests: 2 });
    failTimes(breaker, 3);
    clock.advance(30_000);
    const old = acquire(breaker);
    breaker.failure(acquire(breaker), HTTP_503);
    clock.advance(60_000);
    acquire(breaker);
    breaker.failure(old, HTTP_503);
    expect(breaker.state).toBe(BreakerState.HALF_OPEN);
  });
});

describe('CircuitBreaker onTransition', () => {
  it('reports each state change once when the breaker goes round its cycle', () => {
    const { breaker, clock, transitions } = harness();
    failTimes(breaker, 3);
    clock.advance(30_000);
    succeedTimes(breaker, 2);
    breaker.reset();
    breaker.forceOpen('maintenance');
    breaker.forceOpen('still maintenance');
    breaker.reset();
    const start = 1_700_000_000_000;
    expect(transitions).toEqual([
      {
        name: 'max-gpu',
        from: 'closed',
        to: 'open',
        reason: '3 consecutive failures (last: status: HTTP 503)',
        atMs: start,
      },
      {
        name: 'max-gpu',
        from: 'open',
        to: 'half_open',
        reason: 'recovery timeout elapsed',
        atMs: start + 30_000,
      },
      {
        name: 'max-gpu',
        from: 'half_open',
        to: 'closed',
        reason: '2 successful trials',
        atMs: start + 30_000,
      },
      { name: 'max-gpu', from: 'closed', to: 'forced_open', reason: 'maintenance', atMs: start + 30_000 },
      { name: 'max-gpu', from: 'forced_open', to: 'closed', reason: 'reset', atMs: start + 30_000 },
    ]);
    expect(breaker.snapshot().trip_reason).toBeNull();
  });

  it('lets the listener read the new state when it is called', () => {
    const seen: unknown[] = [];
    const breaker: CircuitBreaker = new CircuitBreaker('max-gpu', breakerPolicy(), {
      clock: new ManualClock(),
      random: () => 0,
      onTransition: () => seen.push([breaker.state, breaker.snapshot().trip_reason, breaker.retryAfterMs()]),
    });
    failTimes(breaker, 3);
    expect(seen).toEqual([['open', '3 consecutive failures (last: status: HTTP 503)', 30_000]]);
  });
});

describe('CircuitBreaker setPolicy', () => {
  it('keeps state and counters when the policy is swapped while open', () => {
    const { breaker } = harness();
    failTimes(breaker, 3);
    const next = breaker.nextAttemptAtMs();
    const policy = breakerPolicy({ failureThreshold: 1, recoveryTimeoutMs: 5_000 });
    breaker.setPolicy(policy);
    expect(breaker.policy).toBe(policy);
    expect(breaker.state).toBe(BreakerState.OPEN);
    expect(breaker.nextAttemptAtMs()).toBe(next);
    expect(breaker.snapshot()).toMatchObject({ total_failures: 3, consecutive_failures: 3 });
  });

  it('applies the new thresholds from the next outcome when swapped while closed', () => {
    const { breaker } = harness({ failureThreshold: 5 });
    failTimes(breaker, 2);
    breaker.setPolicy(breakerPolicy({ failureThreshold: 2, recoveryTimeoutMs: 5_000 }));
    expect(breaker.state).toBe(BreakerState.CLOSED);
    failTimes(breaker, 1);
    expect(breaker.state).toBe(BreakerState.OPEN);
    expect(breaker.retryAfterMs()).toBe(5_000);
  });

  it('starts judging the failure rate when a reload adds it', () => {
    const { breaker } = harness({ failureThreshold: 100 });
    failTimes(breaker, 9);
    breaker.setPolicy(
      breakerPolicy({
        failureThreshold: 100,
        failureRate: { threshold: 0.5, windowMs: 60_000, minimumRequests: 2 },
      }),
    );
    expect(breaker.state).toBe(BreakerState.CLOSED);
    failTimes(breaker, 2);
    expect(breaker.state).toBe(BreakerState.OPEN);
  });
});

describe('CircuitBreaker snapshot', () => {
  it('has exactly the keys of docs/design.md#control-plane then the extras when fresh', () => {
    const { breaker } = harness();
    expect(breaker.snapshot()).toStrictEqual({
      state: 'closed',
      total_requests: 0,
      total_successes: 0,
      total_failures: 0,
      total_timeouts: 0,
      total_rejections: 0,
      consecutive_failures: 0,
      opened_at: null,
      next_attempt_at: null,
      trip_reason: null,
      uptime_seconds: 0,
      consecutive_successes: 0,
      half_open_in_flight: 0,
      recovery_timeout_ms: 30_000,
      last_failure: null,
      state_since: '2023-11-14T22:13:20.000Z',
    });
    expect(Object.keys(breaker.snapshot()).slice(0, 11)).toEqual([
      'state',
      'total_requests',
      'total_successes',
      'total_failures',
      'total_timeouts',
      'total_rejections',
      'consecutive_failures',
      'opened_at',
      'next_attempt_at',
      'trip_reason',
      'uptime_seconds',
    ]);
  });

  it('gives ISO times and uptime in seconds when open', () => {
    const { breaker, clock } = harness();
    clock.advance(1_500);
    failTimes(breaker, 3);
    clock.advance(2_000);
    const snap = breaker.snapshot();
    expect(snap).toMatchObject({
      state: 'open',
      opened_at: '2023-11-14T22:13:21.500Z',
      next_attempt_at: '2023-11-14T22:13:51.500Z',
      state_since: '2023-11-14T22:13:21.500Z',
      uptime_seconds: 3.5,
      last_failure: { kind: 'status', message: 'HTTP 503' },
    });
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });
});
