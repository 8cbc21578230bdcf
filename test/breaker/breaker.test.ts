import { describe, expect, it } from 'vitest';
import { BreakerState } from '../../src/breaker/index.ts';
import { FIRST_TOKEN_TIMEOUT, HTTP_503, acquire, failTimes, harness, succeedTimes } from './helpers.ts';

describe('CircuitBreaker', () => {
  it('opens with a trip reason when consecutive failures reach failureThreshold', () => {
    const { breaker, clock } = harness();
    failTimes(breaker, 2);
    expect(breaker.state).toBe(BreakerState.CLOSED);
    expect(breaker.isAvailable()).toBe(true);
    breaker.failure(acquire(breaker), FIRST_TOKEN_TIMEOUT);
    expect(breaker.state).toBe(BreakerState.OPEN);
    const snap = breaker.snapshot();
    expect(snap.trip_reason).toBe('3 consecutive failures (last: timeout: no first token within 5000ms)');
    expect(snap.consecutive_failures).toBe(3);
    expect(snap.opened_at).toBe(new Date(clock.now()).toISOString());
    expect(breaker.nextAttemptAtMs()).toBe(clock.now() + 30_000);
  });

  it('stays closed when a success breaks the run of failures', () => {
    const { breaker } = harness();
    failTimes(breaker, 2);
    succeedTimes(breaker, 1);
    expect(breaker.snapshot().consecutive_failures).toBe(0);
    failTimes(breaker, 2);
    expect(breaker.state).toBe(BreakerState.CLOSED);
    expect(breaker.snapshot().consecutive_failures).toBe(2);
  });

  it('rejects and counts rejections when open', () => {
    const { breaker, clock } = harness();
    failTimes(breaker, 3);
    clock.advance(10_000);
    expect(breaker.isAvailable()).toBe(false);
    expect(breaker.tryAcquire()).toBeNull();
    expect(breaker.tryAcquire()).toBeNull();
    expect(breaker.retryAfterMs()).toBe(20_000);
    const snap = breaker.snapshot();
    expect(snap.total_rejections).toBe(2);
    expect(snap.total_requests).toBe(3);
  });

  it('half-opens on the next acquire when the recovery timeout has passed', () => {
    const { breaker, clock } = harness();
    failTimes(breaker, 3);
    clock.advance(29_999);
    expect(breaker.tryAcquire()).toBeNull();
    clock.advance(1);
    expect(breaker.retryAfterMs()).toBe(0);
    expect(breaker.isAvailable()).toBe(true);
    expect(breaker.state).toBe(BreakerState.OPEN);
    const permit = acquire(breaker);
    expect(permit.trial).toBe(true);
    expect(breaker.state).toBe(BreakerState.HALF_OPEN);
    expect(breaker.retryAfterMs()).toBeNull();
    expect(breaker.nextAttemptAtMs()).toBeNull();
  });

  it('admits at most halfOpenMaxRequests trials when half-open', () => {
    const { breaker, clock } = harness({ halfOpenMaxRequests: 2, successThreshold: 3 });
    failTimes(breaker, 3);
    clock.advance(30_000);
    const first = acquire(breaker);
    acquire(breaker);
    expect(breaker.isAvailable()).toBe(false);
    expect(breaker.tryAcquire()).toBeNull();
    expect(breaker.snapshot().half_open_in_flight).toBe(2);
    breaker.success(first);
    expect(breaker.isAvailable()).toBe(true);
    expect(acquire(breaker).trial).toBe(true);
  });

  it('closes when successThreshold trials succeed while half-open', () => {
    const { breaker, clock } = harness();
    failTimes(breaker, 3);
    clock.advance(30_000);
    breaker.success(acquire(breaker));
    expect(breaker.state).toBe(BreakerState.HALF_OPEN);
    breaker.success(acquire(breaker));
    expect(breaker.state).toBe(BreakerState.CLOSED);
    const snap = breaker.snapshot();
    expect(snap).toMatchObject({ opened_at: null, next_attempt_at: null, trip_reason: null });
    expect(snap.consecutive_failures).toBe(0);
  });

  it('re-opens with a doubled recovery timeout when a trial fails', () => {
    const { breaker, clock } = harness();
    failTimes(breaker, 3);
    clock.advance(30_000);
    breaker.failure(acquire(breaker), HTTP_503);
    expect(breaker.state).toBe(BreakerState.OPEN);
    expect(breaker.snapshot().trip_reason).toBe('trial failed: status: HTTP 503');
    expect(breaker.retryAfterMs()).toBe(60_000);
    clock.advance(60_000);
    breaker.failure(acquire(breaker), HTTP_503);
    expect(breaker.retryAfterMs()).toBe(120_000);
    expect(breaker.snapshot().recovery_timeout_ms).toBe(120_000);
  });

  it('caps the backed-off recovery timeout at maxRecoveryTimeoutMs when re-opening often', () => {
    const { breaker, clock } = harness({ maxRecoveryTimeoutMs: 100_000 });
    failTimes(breaker, 3);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const wait = breaker.retryAfterMs()!;
      waits.push(wait);
      clock.advance(wait);
      breaker.failure(acquire(breaker), HTTP_503);
    }
    waits.push(breaker.retryAfterMs()!);
    expect(waits).toEqual([30_000, 60_000, 100_000, 100_000, 100_000]);
  });

  it('spreads the recovery timeout within the jitter fraction when random varies', () => {
    const waitWith = (r: number): number => {
      const { breaker } = harness({ jitter: 0.1, maxRecoveryTimeoutMs: 30_000 }, () => r);
      failTimes(breaker, 3);
      return breaker.retryAfterMs()!;
    };
    expect(waitWith(0)).toBe(30_000);
    expect(waitWith(0.5)).toBe(31_500);
    const top = waitWith(0.999_999);
    expect(top).toBeGreaterThan(32_999);
    expect(top).toBeLessThanOrEqual(33_000);
  });

  it('starts the backoff again from recoveryTimeoutMs when the breaker closed in between', () => {
    const { breaker, clock } = harness({ successThreshold: 1 });
    failTimes(breaker, 3);
    clock.advance(30_000);
    breaker.failure(acquire(breaker), HTTP_503);
    clock.advance(60_000);
    breaker.success(acquire(breaker));
    expect(breaker.state).toBe(BreakerState.CLOSED);
    failTimes(breaker, 3);
    expect(breaker.retryAfterMs()).toBe(30_000);
  });

  it('counts timeouts apart when the failure kind is timeout or idle_timeout', () => {
    const { breaker } = harness({ failureThreshold: 10 });
    failTimes(breaker, 1, FIRST_TOKEN_TIMEOUT);
    failTimes(breaker, 1, { kind: 'idle_timeout', message: 'no chunk for 30000ms' });
    failTimes(breaker, 1, HTTP_503);
    failTimes(breaker, 1, { kind: 'reset', message: 'socket hang up' });
    const snap = breaker.snapshot();
    expect(snap.total_failures).toBe(4);
    expect(snap.total_timeouts).toBe(2);
    expect(snap.last_failure).toEqual({ kind: 'reset', message: 'socket hang up' });
  });

  it('holds forced_open across any time when forced, until reset', () => {
    const { breaker, clock } = harness();
    breaker.forceOpen('maintenance');
    clock.advance(24 * 3_600_000);
    expect(breaker.state).toBe(BreakerState.FORCED_OPEN);
    expect(breaker.tryAcquire()).toBeNull();
    expect(breaker.isAvailable()).toBe(false);
    expect(breaker.retryAfterMs()).toBeNull();
    expect(breaker.nextAttemptAtMs()).toBeNull();
    expect(breaker.tryHalfOpen()).toBe(false);
    expect(breaker.snapshot()).toMatchObject({ trip_reason: 'maintenance', total_rejections: 1 });
    breaker.reset();
    expect(breaker.state).toBe(BreakerState.CLOSED);
    expect(acquire(breaker).trial).toBe(false);
  });

  it('clears consecutive counts and backoff but keeps totals when reset', () => {
    const { breaker, clock } = harness();
    failTimes(breaker, 3);
    clock.advance(30_000);
    breaker.failure(acquire(breaker), HTTP_503);
    breaker.reset();
    const snap = breaker.snapshot();
    expect(snap).toMatchObject({
      state: 'closed',
      consecutive_failures: 0,
      consecutive_successes: 0,
      recovery_timeout_ms: 30_000,
      trip_reason: null,
      total_requests: 4,
      total_failures: 4,
    });
    failTimes(breaker, 2);
    expect(breaker.state).toBe(BreakerState.CLOSED);
    breaker.failure(acquire(breaker), HTTP_503);
    expect(breaker.retryAfterMs()).toBe(30_000);
  });

  it('half-opens at once when a health check passes while open', () => {
    const { breaker, transitions } = harness();
    expect(breaker.tryHalfOpen()).toBe(false);
    failTimes(breaker, 3);
    expect(breaker.tryHalfOpen()).toBe(true);
    expect(breaker.state).toBe(BreakerState.HALF_OPEN);
    expect(transitions.at(-1)).toMatchObject({
      from: 'open',
      to: 'half_open',
      reason: 'health check passed',
    });
    expect(breaker.tryHalfOpen()).toBe(false);
    expect(acquire(breaker).trial).toBe(true);
  });

  it('frees a trial slot without counting an outcome when a permit is released', () => {
    const { breaker, clock } = harness();
    failTimes(breaker, 3);
    clock.advance(30_000);
    const permit = acquire(breaker);
    expect(breaker.tryAcquire()).toBeNull();
    breaker.release(permit);
    breaker.release(permit);
    expect(breaker.snapshot().half_open_in_flight).toBe(0);
    const next = acquire(breaker);
    expect(breaker.tryAcquire()).toBeNull();
    expect(breaker.snapshot()).toMatchObject({
      total_successes: 0,
      total_failures: 3,
      half_open_in_flight: 1,
    });
    breaker.success(next);
    expect(breaker.state).toBe(BreakerState.HALF_OPEN);
  });

  it('ignores a second outcome when the same permit is settled twice', () => {
    const { breaker } = harness();
    const permit = acquire(breaker);
    breaker.failure(permit, HTTP_503);
    breaker.failure(permit, HTTP_503);
    breaker.success(permit);
    expect(breaker.snapshot()).toMatchObject({
      total_failures: 1,
      total_successes: 0,
      consecutive_failures: 1,
    });
  });
});
