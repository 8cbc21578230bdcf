import { describe, expect, it } from 'vitest';
import { BreakerState } from '../../src/breaker/index.ts';
import { failTimes, harness, succeedTimes } from './helpers.ts';

const RATE = { threshold: 0.5, windowMs: 60_000, minimumRequests: 10 };

describe('CircuitBreaker failure rate', () => {
  it('opens with a rate reason when failures reach the threshold over minimumRequests calls', () => {
    const { breaker, transitions } = harness({ failureThreshold: 100, failureRate: RATE });
    succeedTimes(breaker, 4);
    failTimes(breaker, 5);
    expect(breaker.state).toBe(BreakerState.CLOSED);
    failTimes(breaker, 1);
    expect(breaker.state).toBe(BreakerState.OPEN);
    expect(transitions).toHaveLength(1);
    expect(transitions[0]!.reason).toBe('failure rate 60% ≥ 50% over 10 calls in 60s');
  });

  it('stays closed when fewer than minimumRequests calls are in the window', () => {
    const { breaker } = harness({ failureThreshold: 100, failureRate: RATE });
    failTimes(breaker, 9);
    expect(breaker.state).toBe(BreakerState.CLOSED);
  });

  it('stays closed when the rate is under the threshold', () => {
    const { breaker } = harness({ failureThreshold: 100, failureRate: RATE });
    for (let i = 0; i < 10; i++) {
      succeedTimes(breaker, 2);
      failTimes(breaker, 1);
    }
    expect(breaker.state).toBe(BreakerState.CLOSED);
  });

  it('forgets old calls when they roll out of the window', () => {
    const { breaker, clock } = harness({ failureThreshold: 100, failureRate: RATE });
    failTimes(breaker, 6);
    clock.advance(60_000);
    succeedTimes(breaker, 3);
    failTimes(breaker, 1);
    expect(breaker.state).toBe(BreakerState.CLOSED);
  });

  it('still counts calls when they are within the window', () => {
    const { breaker, clock } = harness({ failureThreshold: 100, failureRate: RATE });
    failTimes(breaker, 6);
    clock.advance(30_000);
    succeedTimes(breaker, 3);
    failTimes(breaker, 1);
    expect(breaker.state).toBe(BreakerState.OPEN);
  });

  it('judges afresh when the breaker closed again after tripping on rate', () => {
    const { breaker, clock } = harness({ failureThreshold: 100, failureRate: RATE, successThreshold: 1 });
    failTimes(breaker, 10);
    expect(breaker.state).toBe(BreakerState.OPEN);
    clock.advance(30_000);
    succeedTimes(breaker, 1);
    expect(breaker.state).toBe(BreakerState.CLOSED);
    failTimes(breaker, 9);
    expect(breaker.state).toBe(BreakerState.CLOSED);
  });

  it('trips on the consecutive count first when both rules are met', () => {
    const { breaker, transitions } = harness({
      failureThreshold: 3,
      failureRate: { ...RATE, minimumRequests: 3 },
    });
    failTimes(breaker, 3);
    expect(transitions[0]!.reason).toBe('3 consecutive failures (last: status: HTTP 503)');
  });
});
