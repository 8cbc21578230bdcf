import { CircuitBreaker, type Failure, type Permit, type Transition } from '../../src/breaker/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import type { BreakerPolicy } from '../../src/policy/types.ts';

/** The defaults of docs/design.md#the-circuit-breaker (the harness's `random` of 0 makes the jitter add nothing). */
export function breakerPolicy(overrides: Partial<BreakerPolicy> = {}): BreakerPolicy {
  return {
    failureThreshold: 3,
    recoveryTimeoutMs: 30_000,
    successThreshold: 2,
    halfOpenMaxRequests: 1,
    backoffMultiplier: 2,
    maxRecoveryTimeoutMs: 300_000,
    jitter: 0.1,
    failureRate: null,
    ...overrides,
  };
}

export const HTTP_503: Failure = { kind: 'status', message: 'HTTP 503' };
export const FIRST_TOKEN_TIMEOUT: Failure = { kind: 'timeout', message: 'no first token within 5000ms' };

export interface Harness {
  breaker: CircuitBreaker;
  clock: ManualClock;
  transitions: Transition[];
}

/** A breaker on a ManualClock, recording its transitions; `random` defaults to 0 (no jitter). */
export function harness(overrides: Partial<BreakerPolicy> = {}, random: () => number = () => 0): Harness {
  const clock = new ManualClock();
  const transitions: Transition[] = [];
  const breaker = new CircuitBreaker('max-gpu', breakerPolicy(overrides), {
    clock,
    random,
    onTransition: (t) => transitions.push(t),
  });
  return { breaker, clock, transitions };
}

/** Acquire a permit, failing the test when the breaker rejects. */
export function acquire(breaker: CircuitBreaker): Permit {
  const permit = breaker.tryAcquire();
  if (!permit) throw new Error(`breaker ${breaker.name} rejected while ${breaker.state}`);
  return permit;
}

/** Run `n` failed calls. */
export function failTimes(breaker: CircuitBreaker, n: number, failure: Failure = HTTP_503): void {
  for (let i = 0; i < n; i++) breaker.failure(acquire(breaker), failure);
}

/** Run `n` successful calls. */
export function succeedTimes(breaker: CircuitBreaker, n: number): void {
  for (let i = 0; i < n; i++) breaker.success(acquire(breaker));
}
