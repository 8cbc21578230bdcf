import type { BreakerPolicy } from '../policy/types.ts';
import type { RollingWindow } from './rolling-window.ts';
import type { Failure } from './types.ts';

/** `timeout: no first token within 5000ms` — how a failure reads inside a trip reason. */
export function describeFailure(failure: Failure): string {
  return `${failure.kind}: ${failure.message}`;
}

/** `0.5` → `50%`, `0.333…` → `33.3%`. */
export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(1))}%`;
}

/** `60000` → `60s`, `1500` → `1.5s`, `250` → `250ms`. */
export function formatDurationMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Number((ms / 1000).toFixed(3))}s`;
}

/**
 * Why a closed breaker trips after `failure`, or null when it stays closed: `failureThreshold`
 * consecutive failures, or a failure rate at or above `failureRate.threshold` once the window
 * holds `minimumRequests` calls (`window` already holds this failure).
 */
export function closedTripReason(
  policy: BreakerPolicy,
  consecutiveFailures: number,
  window: RollingWindow | null,
  failure: Failure,
): string | null {
  if (consecutiveFailures >= policy.failureThreshold) {
    return `${consecutiveFailures} consecutive failures (last: ${describeFailure(failure)})`;
  }
  const rate = policy.failureRate;
  if (!window || !rate || window.calls < rate.minimumRequests) return null;
  const observed = window.failures / window.calls;
  if (observed < rate.threshold) return null;
  return (
    `failure rate ${formatPercent(observed)} ≥ ${formatPercent(rate.threshold)} ` +
    `over ${window.calls} calls in ${formatDurationMs(rate.windowMs)}`
  );
}

/** ISO-8601 of a time in ms since the epoch; null stays null. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Recovery timeout of the next open period: the base backed off `reopens` times, capped, plus jitter. */
export function recoveryDelayMs(p: BreakerPolicy, reopens: number, random: number): number {
  const backedOffMs = Math.min(p.recoveryTimeoutMs * p.backoffMultiplier ** reopens, p.maxRecoveryTimeoutMs);
  return Math.round(backedOffMs * (1 + random * p.jitter));
}
