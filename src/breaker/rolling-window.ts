import type { FailureRatePolicy } from '../policy/types.ts';

/** Buckets per window: a call rolls off at most `windowMs / BUCKETS` late. */
const BUCKETS = 10;

/**
 * Calls and failures over the last `windowMs`, in time buckets driven by the caller's clock.
 * O(1) per record (at most `BUCKETS` buckets cleared when time jumps), no timers, no allocation
 * after construction.
 */
export class RollingWindow {
  /** Window length, ms. */
  readonly windowMs: number;
  readonly #bucketMs: number;
  readonly #calls = new Float64Array(BUCKETS);
  readonly #failures = new Float64Array(BUCKETS);
  /** Absolute index (`floor(now / bucketMs)`) of the newest bucket; -1 when empty. */
  #head = -1;
  #totalCalls = 0;
  #totalFailures = 0;

  /** @param windowMs window length in ms (> 0). */
  constructor(windowMs: number) {
    this.windowMs = windowMs;
    this.#bucketMs = Math.max(1, windowMs / BUCKETS);
  }

  /** Calls recorded in the window as of the last `record`/`roll`. */
  get calls(): number {
    return this.#totalCalls;
  }

  /** Failures recorded in the window as of the last `record`/`roll`. */
  get failures(): number {
    return this.#totalFailures;
  }

  /** Record one call at `nowMs` (ms since the epoch). */
  record(nowMs: number, failed: boolean): void {
    const slot = this.roll(nowMs);
    this.#calls[slot]! += 1;
    this.#totalCalls += 1;
    if (failed) {
      this.#failures[slot]! += 1;
      this.#totalFailures += 1;
    }
  }

  /** Drop the buckets that fell out of the window at `nowMs`; returns the current bucket's slot. */
  roll(nowMs: number): number {
    const index = Math.floor(nowMs / this.#bucketMs);
    // A clock that steps back keeps recording into the newest bucket rather than corrupting older ones.
    if (index > this.#head) {
      const steps = this.#head < 0 ? BUCKETS : Math.min(index - this.#head, BUCKETS);
      for (let i = 1; i <= steps; i++) this.#clearSlot((index - steps + i) % BUCKETS);
      this.#head = index;
    }
    return this.#head % BUCKETS;
  }

  /** Forget every call. */
  clear(): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#totalCalls = 0;
    this.#totalFailures = 0;
    this.#head = -1;
  }

  #clearSlot(slot: number): void {
    this.#totalCalls -= this.#calls[slot]!;
    this.#totalFailures -= this.#failures[slot]!;
    this.#calls[slot] = 0;
    this.#failures[slot] = 0;
  }
}

/**
 * The window a failure-rate policy needs: `current` when its length is unchanged (a reload keeps
 * what it counted), a new one when it changed, null without a failure-rate trip.
 */
export function windowFor(
  rate: FailureRatePolicy | null,
  current: RollingWindow | null,
): RollingWindow | null {
  if (rate === null) return null;
  return current !== null && current.windowMs === rate.windowMs ? current : new RollingWindow(rate.windowMs);
}
