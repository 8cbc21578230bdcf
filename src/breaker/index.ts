export { CircuitBreaker } from './circuit-breaker.ts';
export { BreakerState, FailureKind } from './types.ts';
export type { BreakerOptions, BreakerSnapshot, Failure, Permit, Transition } from './types.ts';
