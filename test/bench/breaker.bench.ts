import { bench, describe } from 'vitest';
import { CircuitBreaker } from '../../src/breaker/index.ts';
import { systemClock } from '../../src/clock/index.ts';
import { breakerPolicy } from '../breaker/helpers.ts';

const policy = breakerPolicy();
const CALLS = 1_000;

// docs/design.md#budgets: breaker bookkeeping ≤ 1 µs per call. Each iteration runs CALLS calls, so the
// reported mean time per iteration, in ms, is the per-call cost in µs.
describe('CircuitBreaker tryAcquire + success (per iteration: 1000 calls)', () => {
  const plain = new CircuitBreaker('plain', policy, { clock: systemClock });
  bench('consecutive count only', () => {
    for (let i = 0; i < CALLS; i++) plain.success(plain.tryAcquire()!);
  });

  const rated = new CircuitBreaker(
    'rated',
    { ...policy, failureRate: { threshold: 0.5, windowMs: 60_000, minimumRequests: 10 } },
    { clock: systemClock },
  );
  bench('with failure-rate window', () => {
    for (let i = 0; i < CALLS; i++) rated.success(rated.tryAcquire()!);
  });
});
