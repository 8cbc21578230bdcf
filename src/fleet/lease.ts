import { BreakerState } from '../breaker/index.ts';
import type { Clock } from '../clock/index.ts';
import type { FleetStore } from './store.ts';

/** What the agent knows of one upstream at a tick, for its probe lease. */
export interface LeaseInput {
  /** The group holds the upstream open (the lease matters only then). */
  readonly groupOpen: boolean;
  readonly state: BreakerState;
  /** `breaker.retryAfterMs()`: 0 when an open breaker is due for a trial. */
  readonly retryAfterMs: number | null;
  /** Calls asked for the upstream since the last tick (its breaker rejected them). */
  readonly demand: boolean;
}

/** Options of `new ProbeLease(...)`. */
export interface ProbeLeaseOptions {
  readonly key: string;
  readonly podId: string;
  /** `fleet.leaseTtl`: how long the lease outlives this pod, ms. */
  readonly ttlMs: number;
  /** Least time between two attempts to take a lease another pod holds (a heartbeat), ms. */
  readonly retryEveryMs: number;
  readonly store: FleetStore;
  readonly clock: Clock;
  /** This pod took the lease. */
  readonly onTaken: () => void;
}

/**
 * The probe lease of one upstream (docs/fleet.md, One prober): while the group holds an upstream
 * open, only the pod holding this lease may half-open its breaker and send trial calls. The lease
 * is a Redis key with an expiry: taken when this pod's breaker is due and calls want the
 * upstream; renewed while its trials run; kept through the wait after a failed trial, so the same
 * pod probes the next period; given back when it closes (the agent's recovery does that), when
 * no trial came within `ttlMs`, or when the group no longer holds the upstream open. A pod that
 * dies keeps it at most `ttlMs` (plus the wait of a failed trial).
 */
export class ProbeLease {
  readonly #o: ProbeLeaseOptions;
  #held = false;
  #pending = false;
  #lastTryMs = Number.NEGATIVE_INFINITY;
  #renewedMs = Number.NEGATIVE_INFINITY;
  /** When this pod's breaker became due with the lease in hand. */
  #dueSinceMs: number | null = null;

  constructor(options: ProbeLeaseOptions) {
    this.#o = options;
  }

  /** This pod holds the lease (as far as it knows). */
  get held(): boolean {
    return this.#held;
  }

  /** One tick of the agent: take, renew, keep or give back the lease. */
  tick(s: LeaseInput): void {
    if (!s.groupOpen || s.state === BreakerState.FORCED_OPEN || s.state === BreakerState.CLOSED) {
      if (this.#held) this.drop();
      this.#dueSinceMs = null;
      return;
    }
    const now = this.#o.clock.now();
    if (s.state === BreakerState.HALF_OPEN || (s.retryAfterMs ?? 0) > 0) {
      this.#dueSinceMs = null;
      // Trials running, or waiting out a failed one: hold the lease through the wait.
      if (this.#held) this.#renew(now, this.#o.ttlMs + (s.retryAfterMs ?? 0));
      return;
    }
    if (this.#held) {
      this.#dueSinceMs ??= now;
      if (now - this.#dueSinceMs > this.#o.ttlMs) this.drop();
      else this.#renew(now, this.#o.ttlMs);
      return;
    }
    if (s.demand && now - this.#lastTryMs >= this.#o.retryEveryMs) this.#take(now);
  }

  /** Gives the lease back (if this pod holds it). */
  drop(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#dueSinceMs = null;
    this.#o.store.sync.bwProbeDrop(this.#o.key, this.#o.podId).catch(() => undefined);
  }

  /** The lease ended in the store (the recovery or a reset deleted it). */
  forget(): void {
    this.#held = false;
    this.#dueSinceMs = null;
  }

  #take(now: number): void {
    if (this.#pending) return;
    this.#pending = true;
    this.#lastTryMs = now;
    this.#o.store.sync
      .bwProbeTake(this.#o.key, this.#o.podId, this.#o.ttlMs)
      .then((got) => {
        if (got !== 1 || this.#held) return;
        this.#held = true;
        this.#renewedMs = this.#o.clock.now();
        this.#o.onTaken();
      })
      .catch((err: unknown) => this.#o.store.markDown('lease', err))
      .finally(() => (this.#pending = false));
  }

  #renew(now: number, ttlMs: number): void {
    if (this.#pending || now - this.#renewedMs < this.#o.ttlMs / 3) return;
    this.#pending = true;
    this.#renewedMs = now;
    this.#o.store.sync
      .bwProbeTake(this.#o.key, this.#o.podId, ttlMs)
      .then((got) => {
        if (got !== 1) this.#held = false;
      })
      .catch((err: unknown) => this.#o.store.markDown('lease', err))
      .finally(() => (this.#pending = false));
  }
}
