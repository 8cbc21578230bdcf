import type { Clock } from '../clock/index.ts';
import type { BreakerPolicy } from '../policy/types.ts';
import { IssuedPermit, settleOnce } from './permit.ts';
import { closedTripReason, describeFailure, isoOrNull, recoveryDelayMs } from './reason.ts';
import { windowFor, type RollingWindow } from './rolling-window.ts';
import { Totals } from './totals.ts';
import {
  BreakerState,
  FailureKind,
  type BreakerOptions,
  type BreakerSnapshot,
  type Failure,
  type Permit,
  type Transition,
} from './types.ts';

const ALWAYS = (): boolean => true;

/**
 * A circuit breaker guarding one upstream (docs/design.md#the-circuit-breaker). Pure bookkeeping: no timers, no I/O; time
 * comes only from the injected clock. The caller asks `tryAcquire()` before a call and settles the
 * permit with `success`, `failure` or `release` when the call ends.
 *
 * Every state change bumps a generation number. Outcomes of permits acquired before the last
 * change count in the totals (and `last_failure`) only: a slow call admitted while closed that
 * fails after the breaker opened neither re-trips it nor extends its wait, and a stale trial frees
 * no slot of a new half-open period.
 *
 * @example
 * const breaker = new CircuitBreaker(up.name, up.breaker, { clock: systemClock });
 * const permit = breaker.tryAcquire();
 * if (permit !== null) breaker.failure(permit, { kind: 'status', message: 'HTTP 503' });
 */
export class CircuitBreaker {
  /** Breaker name (the upstream's name). */
  readonly name: string;
  #policy: BreakerPolicy;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #onTransition: ((t: Transition) => void) | null;
  readonly #createdAtMs: number;

  #state: BreakerState = BreakerState.CLOSED;
  #generation = 0;
  #stateSinceMs: number;
  #consecutiveFailures = 0;
  #consecutiveSuccesses = 0;
  #halfOpenInFlight = 0;
  /** Re-opens from half-open in a row; the exponent of the backoff. */
  #reopens = 0;
  #openedAtMs: number | null = null;
  #nextAttemptAtMs: number | null = null;
  #recoveryMs: number;
  #tripReason: string | null = null;
  #lastFailure: Failure | null = null;
  #window: RollingWindow | null;

  readonly #totals = new Totals();
  /** Fleet mode: may an open breaker whose wait is over half-open? null: always. */
  #probeGate: () => boolean = ALWAYS;

  /** `policy` is the compiled `BreakerPolicy` (not mutated); `options` the clock, jitter, listener. */
  constructor(name: string, policy: BreakerPolicy, options: BreakerOptions) {
    this.name = name;
    this.#policy = policy;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.#onTransition = options.onTransition ?? null;
    this.#createdAtMs = this.#clock.now();
    this.#stateSinceMs = this.#createdAtMs;
    this.#recoveryMs = policy.recoveryTimeoutMs;
    this.#window = windowFor(policy.failureRate, null);
  }

  /** The policy in force. */
  get policy(): BreakerPolicy {
    return this.#policy;
  }

  /**
   * Swap the policy (reload). State, counters and the current open period are kept; the new
   * thresholds apply from the next outcome on. The failure-rate window is kept unless its length changed.
   */
  setPolicy(policy: BreakerPolicy): void {
    this.#policy = policy;
    this.#window = windowFor(policy.failureRate, this.#window);
    if (this.#state === BreakerState.CLOSED) this.#recoveryMs = policy.recoveryTimeoutMs;
  }

  /** Current state. A pure read: an open breaker whose wait is over stays `open` until `tryAcquire()`. */
  get state(): BreakerState {
    return this.#state;
  }

  /** Whether `tryAcquire()` would admit a call now: closed, half-open with a free slot, or open and due. */
  isAvailable(): boolean {
    switch (this.#state) {
      case BreakerState.CLOSED:
        return true;
      case BreakerState.HALF_OPEN:
        return this.#halfOpenInFlight < this.#policy.halfOpenMaxRequests;
      case BreakerState.OPEN:
        return this.#clock.now() >= this.#nextAttemptAtMs! && this.#probeGate();
      default:
        return false;
    }
  }

  /**
   * Ask to make a call. Returns a permit (counted in `total_requests`) or null when rejected
   * (counted in `total_rejections`). An open breaker whose wait is over half-opens here (unless the
   * probe gate says no) and the caller gets the first trial permit.
   */
  tryAcquire(): Permit | null {
    const state = this.#state;
    if (state === BreakerState.CLOSED) {
      this.#totals.requests++;
      return new IssuedPermit(false, this.#generation);
    }
    if (state === BreakerState.OPEN && this.#clock.now() >= this.#nextAttemptAtMs! && this.#probeGate()) {
      this.#transition(BreakerState.HALF_OPEN, 'recovery timeout elapsed');
    }
    if (this.#state === BreakerState.HALF_OPEN && this.#halfOpenInFlight < this.#policy.halfOpenMaxRequests) {
      this.#halfOpenInFlight++;
      this.#totals.requests++;
      return new IssuedPermit(true, this.#generation);
    }
    this.#totals.rejections++;
    return null;
  }

  /** The call succeeded (for a stream: it ended well). */
  success(permit: Permit): void {
    if (!settleOnce(permit)) return;
    this.#totals.successes++;
    if (permit.generation !== this.#generation) return;
    this.#consecutiveFailures = 0;
    this.#consecutiveSuccesses++;
    if (this.#state === BreakerState.CLOSED) {
      this.#window?.record(this.#clock.now(), false);
    } else if (this.#state === BreakerState.HALF_OPEN) {
      if (permit.trial) this.#halfOpenInFlight--;
      const needed = this.#policy.successThreshold;
      if (this.#consecutiveSuccesses >= needed) {
        this.#close(`${needed} successful trial${needed === 1 ? '' : 's'}`);
      }
    }
  }

  /** The call failed. Kinds `timeout` and `idle_timeout` also count in `total_timeouts`. */
  failure(permit: Permit, failure: Failure): void {
    if (!settleOnce(permit)) return;
    this.#totals.failures++;
    if (failure.kind === FailureKind.TIMEOUT || failure.kind === FailureKind.IDLE_TIMEOUT) {
      this.#totals.timeouts++;
    }
    this.#lastFailure = failure;
    if (permit.generation !== this.#generation) return;
    this.#consecutiveSuccesses = 0;
    this.#consecutiveFailures++;
    if (this.#state === BreakerState.CLOSED) {
      this.#window?.record(this.#clock.now(), true);
      const reason = closedTripReason(this.#policy, this.#consecutiveFailures, this.#window, failure);
      if (reason !== null) this.#open(reason);
    } else if (this.#state === BreakerState.HALF_OPEN) {
      this.#reopens++;
      this.#open(`trial failed: ${describeFailure(failure)}`);
    }
  }

  /** Neither success nor failure (429 spill, client went away): frees a trial slot, counts nothing. */
  release(permit: Permit): void {
    if (!settleOnce(permit)) return;
    if (permit.trial && permit.generation === this.#generation && this.#state === BreakerState.HALF_OPEN) {
      this.#halfOpenInFlight--;
    }
  }

  /** Open by hand (planned maintenance): rejects everything until `reset()`, whatever the time. */
  forceOpen(reason?: string): void {
    this.#tripReason = reason ?? 'forced open';
    if (this.#state === BreakerState.FORCED_OPEN) return;
    this.#openedAtMs = this.#clock.now();
    this.#nextAttemptAtMs = null;
    this.#transition(BreakerState.FORCED_OPEN, this.#tripReason);
  }

  /** Back to closed (transition reason `reason`); clears streaks, the rate window and the backoff, not totals. */
  reset(reason = 'reset'): void {
    this.#close(reason);
  }

  /**
   * An active health check passed: an open breaker half-opens now, without waiting out its
   * recovery timeout. Returns true when it did; false in any other state (forced_open included) or
   * when the probe gate says no.
   */
  tryHalfOpen(): boolean {
    if (this.#state !== BreakerState.OPEN || !this.#probeGate()) return false;
    this.#transition(BreakerState.HALF_OPEN, 'health check passed');
    return true;
  }

  /** Consecutive failures now (the fleet agent samples this; no snapshot needed). */
  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** Successes since creation (the fleet agent samples this). */
  get totalSuccesses(): number {
    return this.#totals.successes;
  }

  /**
   * Fleet mode (docs/fleet.md): `gate` is asked whenever an open breaker whose wait is over would
   * half-open (a call, a passing health check); false keeps it open — another pod holds the probe lease.
   */
  setProbeGate(gate: (() => boolean) | null): void {
    this.#probeGate = gate ?? ALWAYS;
  }

  /** Fleet mode: the group judged the upstream failing; a closed or half-open breaker opens. True when it did. */
  fleetOpen(reason: string): boolean {
    if (this.#state !== BreakerState.CLOSED && this.#state !== BreakerState.HALF_OPEN) return false;
    this.#open(reason);
    return true;
  }

  /** Fleet mode: the group's prober closed; an open or half-open (not forced) breaker closes. True when it did. */
  fleetClose(reason: string): boolean {
    if (this.#state !== BreakerState.OPEN && this.#state !== BreakerState.HALF_OPEN) return false;
    this.#close(reason);
    return true;
  }

  /** When an open breaker admits its next trial, ms since the epoch; null unless `open`. */
  nextAttemptAtMs(): number | null {
    return this.#state === BreakerState.OPEN ? this.#nextAttemptAtMs : null;
  }

  /** Ms until an open breaker admits its next trial (0 when due); null in every other state. */
  retryAfterMs(): number | null {
    if (this.#state !== BreakerState.OPEN) return null;
    return Math.max(0, this.#nextAttemptAtMs! - this.#clock.now());
  }

  /** The admin API's view of this breaker (docs/design.md#control-plane). Builds fresh objects; not for the request path. */
  snapshot(): BreakerSnapshot {
    const now = this.#clock.now();
    const last = this.#lastFailure;
    return {
      state: this.#state,
      ...this.#totals.view(),
      consecutive_failures: this.#consecutiveFailures,
      opened_at: isoOrNull(this.#openedAtMs),
      next_attempt_at: isoOrNull(this.nextAttemptAtMs()),
      trip_reason: this.#tripReason,
      uptime_seconds: (now - this.#createdAtMs) / 1000,
      consecutive_successes: this.#consecutiveSuccesses,
      half_open_in_flight: this.#halfOpenInFlight,
      recovery_timeout_ms: this.#recoveryMs,
      last_failure: last ? { kind: last.kind, message: last.message } : null,
      state_since: new Date(this.#stateSinceMs).toISOString(),
    };
  }

  #open(reason: string): void {
    const now = this.#clock.now();
    this.#recoveryMs = recoveryDelayMs(this.#policy, this.#reopens, this.#random());
    this.#openedAtMs = now;
    this.#nextAttemptAtMs = now + this.#recoveryMs;
    this.#tripReason = reason;
    this.#transition(BreakerState.OPEN, reason);
  }

  #close(reason: string): void {
    this.#consecutiveFailures = 0;
    this.#consecutiveSuccesses = 0;
    this.#reopens = 0;
    this.#recoveryMs = this.#policy.recoveryTimeoutMs;
    this.#openedAtMs = null;
    this.#nextAttemptAtMs = null;
    this.#tripReason = null;
    this.#window?.clear();
    this.#transition(BreakerState.CLOSED, reason);
  }

  /** Enter `to` (no-op when already there): new generation, outstanding trials become stale. */
  #transition(to: BreakerState, reason: string | null): void {
    const from = this.#state;
    if (from === to) return;
    const now = this.#clock.now();
    this.#state = to;
    this.#generation++;
    this.#stateSinceMs = now;
    this.#consecutiveSuccesses = 0;
    this.#halfOpenInFlight = 0;
    this.#onTransition?.({ name: this.name, from, to, reason, atMs: now });
  }
}
