import type { Clock, TimerHandle } from '../clock/index.ts';
import type { ShutdownPolicy } from '../policy/index.ts';

/** How a drain ended: quiet (nothing left in flight) or at `shutdown.timeoutMs`. */
export type DrainOutcome = 'quiet' | 'timeout';

/** What the drain watches: the proxy's requests in flight. */
export interface DrainTarget {
  /** Requests in flight now. */
  readonly inflight: number;
  /** ms since epoch when the last request ended (or started, while some are in flight). */
  readonly lastActivityMs: number;
  /** Resolves once nothing is in flight. */
  whenIdle(): Promise<void>;
}

/**
 * Waits out a graceful shutdown (docs/operations.md#graceful-shutdown-drain): resolves `quiet` once `drainDelayMs` has passed since
 * the call AND nothing has been in flight for `quietPeriodMs`, or `timeout` at `timeoutMs`.
 * New requests keep arriving while it waits (the application is still finishing its own work);
 * each one pushes the quiet point back. Event-driven: it sleeps until the next point where the
 * answer could change, never polls. Timers come from `clock`.
 */
export function drain(target: DrainTarget, policy: ShutdownPolicy, clock: Clock): Promise<DrainOutcome> {
  const startMs = clock.now();
  return new Promise((resolve) => {
    let done = false;
    let wait: TimerHandle | null = null;
    const finish = (outcome: DrainOutcome): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(hard);
      if (wait !== null) clock.clearTimeout(wait);
      resolve(outcome);
    };
    const check = (): void => {
      if (done) return;
      if (wait !== null) clock.clearTimeout(wait);
      wait = null;
      if (target.inflight > 0) {
        void target.whenIdle().then(check);
        return;
      }
      const dueMs = Math.max(startMs + policy.drainDelayMs, target.lastActivityMs + policy.quietPeriodMs);
      const leftMs = dueMs - clock.now();
      if (leftMs <= 0) finish('quiet');
      else wait = clock.setTimeout(check, leftMs);
    };
    const hard = clock.setTimeout(() => finish('timeout'), policy.timeoutMs);
    check();
  });
}
