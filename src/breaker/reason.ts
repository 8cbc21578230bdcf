import type { FailureRatePolicy } from '../policy/types.ts';
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

/** The trip reason of a failure-rate open: `failure rate 60 % ≥ 50 % over 10 calls in 1 m`. */
export function rateTripReason(observed: number, rate: FailureRatePolicy, calls: number): string {
  return (
    `failure rate ${formatPercent(observed)} ≥ ${formatPercent(rate.threshold)} ` +
    `over ${calls} calls in ${formatDurationMs(rate.windowMs)}`
  );
}

/** An ISO time, or null. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
