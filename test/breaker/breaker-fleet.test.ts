import { describe, expect, it } from 'vitest';
import { BreakerState } from '../../src/breaker/index.ts';
import { acquire, failTimes, harness, succeedTimes } from './helpers.ts';

describe('CircuitBreaker fleet hooks', () => {
  it('opens a closed breaker with the fleet reason and its own recovery timeout when fleetOpen is called', () => {
    const { breaker, clock, transitions } = harness();
    expect(breaker.fleetOpen('fleet: 2 pods reported max-gpu failing')).toBe(true);
    expect(breaker.state).toBe(BreakerState.OPEN);
    expect(breaker.snapshot().trip_reason).toBe('fleet: 2 pods reported max-gpu failing');
    expect(breaker.retryAfterMs()).toBe(30_000);
    expect(transitions.at(-1)).toMatchObject({ from: 'closed', to: 'open', atMs: clock.now() });
    expect(breaker.tryAcquire()).toBeNull();
  });

  it('keeps an open or forced-open breaker as it is when fleetOpen is called', () => {
    const { breaker } = harness();
    failTimes(breaker, 3);
    const reason = breaker.snapshot().trip_reason;
    expect(breaker.fleetOpen('fleet: x')).toBe(false);
    expect(breaker.snapshot().trip_reason).toBe(reason);
    breaker.forceOpen('maintenance');
    expect(breaker.fleetOpen('fleet: x')).toBe(false);
    expect(breaker.state).toBe(BreakerState.FORCED_OPEN);
  });

  it('closes an open or half-open breaker but never a forced one when fleetClose is called', () => {
    const { breaker, clock } = harness();
    failTimes(breaker, 3);
    expect(breaker.fleetClose('fleet: pod-b closed after 2 successful trials')).toBe(true);
    expect(breaker.state).toBe(BreakerState.CLOSED);
    expect(breaker.fleetClose('again')).toBe(false);
    failTimes(breaker, 3);
    clock.advance(30_000);
    acquire(breaker);
    expect(breaker.state).toBe(BreakerState.HALF_OPEN);
    expect(breaker.fleetClose('fleet: closed')).toBe(true);
    expect(breaker.state).toBe(BreakerState.CLOSED);
    breaker.forceOpen();
    expect(breaker.fleetClose('fleet: closed')).toBe(false);
    expect(breaker.state).toBe(BreakerState.FORCED_OPEN);
  });

  it('stays open past its recovery timeout while the probe gate says no', () => {
    const { breaker, clock } = harness();
    let mayProbe = false;
    breaker.setProbeGate(() => mayProbe);
    failTimes(breaker, 3);
    clock.advance(30_000);
    expect(breaker.isAvailable()).toBe(false);
    expect(breaker.tryAcquire()).toBeNull();
    expect(breaker.tryHalfOpen()).toBe(false);
    expect(breaker.state).toBe(BreakerState.OPEN);
    mayProbe = true;
    expect(breaker.isAvailable()).toBe(true);
    expect(acquire(breaker).trial).toBe(true);
    expect(breaker.state).toBe(BreakerState.HALF_OPEN);
  });

  it('lets a health check half-open once the probe gate allows it', () => {
    const { breaker } = harness();
    let mayProbe = false;
    breaker.setProbeGate(() => mayProbe);
    failTimes(breaker, 3);
    expect(breaker.tryHalfOpen()).toBe(false);
    mayProbe = true;
    expect(breaker.tryHalfOpen()).toBe(true);
    breaker.setProbeGate(null);
    expect(breaker.state).toBe(BreakerState.HALF_OPEN);
  });

  it('never asks the probe gate while closed', () => {
    const { breaker } = harness();
    let asked = 0;
    breaker.setProbeGate(() => {
      asked++;
      return false;
    });
    succeedTimes(breaker, 3);
    expect(breaker.isAvailable()).toBe(true);
    expect(asked).toBe(0);
  });

  it('exposes its consecutive failures and total successes for sampling', () => {
    const { breaker } = harness();
    succeedTimes(breaker, 2);
    failTimes(breaker, 2);
    expect(breaker.consecutiveFailures).toBe(2);
    expect(breaker.totalSuccesses).toBe(2);
  });

  it('uses the reason given to reset as the transition reason', () => {
    const { breaker, transitions } = harness();
    failTimes(breaker, 3);
    breaker.reset('reset for the fleet by alice via pod-a');
    expect(transitions.at(-1)).toMatchObject({
      to: 'closed',
      reason: 'reset for the fleet by alice via pod-a',
    });
  });
});
