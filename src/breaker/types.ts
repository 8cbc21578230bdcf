import type { Clock } from '../clock/index.ts';

/**
 * States of a circuit breaker (docs/design.md#the-circuit-breaker). `forced_open` is the manual state of planned maintenance:
 * it rejects everything and is held, whatever the time, until `reset()`.
 */
export const BreakerState = {
  CLOSED: 'closed',
  OPEN: 'open',
  HALF_OPEN: 'half_open',
  FORCED_OPEN: 'forced_open',
} as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

/**
 * What went wrong with a call. `timeout` and `idle_timeout` are also counted in `total_timeouts`.
 * `in_band` is an error event inside a 200 stream; `malformed` a line that is not the protocol;
 * `too_large` an answer or stream line over `limits.maxResponseBody` / `limits.maxStreamLine`.
 */
export const FailureKind = {
  CONNECT: 'connect',
  TIMEOUT: 'timeout',
  IDLE_TIMEOUT: 'idle_timeout',
  STATUS: 'status',
  RESET: 'reset',
  IN_BAND: 'in_band',
  MALFORMED: 'malformed',
  TOO_LARGE: 'too_large',
  HEALTH_CHECK: 'health_check',
} as const;
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

/** One failed call, e.g. `{ kind: 'status', message: 'HTTP 503' }`. */
export interface Failure {
  readonly kind: FailureKind;
  /** Short human text; it ends up in trip reasons and in `last_failure`. */
  readonly message: string;
}

/**
 * Leave to make one call, returned by `tryAcquire()`. Settle it exactly once with `success`,
 * `failure` or `release`; later outcomes for the same permit are ignored.
 */
export interface Permit {
  /** True when admitted as a half-open trial (holds one of `halfOpenMaxRequests` slots). */
  readonly trial: boolean;
  /** The breaker's generation when admitted; outcomes of an older generation move no state. */
  readonly generation: number;
}

/** One state change, passed to `onTransition`. */
export interface Transition {
  /** Name of the breaker. */
  name: string;
  from: BreakerState;
  to: BreakerState;
  /** Why: the trip reason when opening, e.g. `3 consecutive failures (last: status: HTTP 503)`. */
  reason: string | null;
  /** When, ms since the epoch (from the breaker's clock). */
  atMs: number;
}

/**
 * A breaker as served by `GET /circuit-breakers` (docs/design.md#control-plane): the original design's keys, then extras.
 * Times are ISO-8601 strings.
 */
export interface BreakerSnapshot {
  state: BreakerState;
  total_requests: number;
  total_successes: number;
  total_failures: number;
  /** Failures of kind `timeout` or `idle_timeout` (also in `total_failures`). */
  total_timeouts: number;
  total_rejections: number;
  consecutive_failures: number;
  /** When the breaker last opened; null while closed. Kept through half-open. */
  opened_at: string | null;
  /** When an open breaker admits its next trial; null unless `open`. */
  next_attempt_at: string | null;
  /** Why it opened; null while closed. */
  trip_reason: string | null;
  /** Seconds since the breaker was created. */
  uptime_seconds: number;
  /** Successes in a row in the current state (counts toward `successThreshold` in half-open). */
  consecutive_successes: number;
  /** Trial permits out now. */
  half_open_in_flight: number;
  /** Recovery timeout of the current open period (backed off, jittered); the base while closed. */
  recovery_timeout_ms: number;
  last_failure: Failure | null;
  /** When the current state began. */
  state_since: string;
}

/** Options of `new CircuitBreaker(...)`. */
export interface BreakerOptions {
  /** Source of time; the breaker has no timers of its own. */
  clock: Clock;
  /** Uniform [0, 1) source for jitter. Default `Math.random`. */
  random?: () => number;
  /**
   * Called synchronously once per state change, after the breaker has fully changed state
   * (so it may read `snapshot()`). An exception it throws reaches the caller of the method that
   * caused the change.
   */
  onTransition?: (t: Transition) => void;
}
