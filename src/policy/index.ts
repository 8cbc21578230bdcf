export { loadPolicyFile, parsePolicy } from './load.ts';
export type { LoadPolicyOptions, ParsePolicyOptions } from './load.ts';
export { DEFAULT_PARSE_TIMEOUT_MS, loadPolicyFileInWorker, PARSE_WORKER_HEAP_MB } from './worker-load.ts';
export type { WorkerLoadOptions } from './worker-load.ts';
export { readPolicyBytes } from './read.ts';
export { POLICY_LIMITS } from './limits.ts';
export type { PolicyEnv } from './interpolate.ts';
export { PolicyError, formatProblem } from './problems.ts';
export type { PolicyProblem } from './problems.ts';
export {
  formatDuration,
  formatListenAddress,
  formatSize,
  isLoopbackHost,
  parseDuration,
  parseListenAddress,
  parseSize,
} from './units.ts';
export { FrozenSet } from './freeze.ts';
export { CACHE_KEY_HEADERS } from './http-fields.ts';
export { REDACTED } from './view.ts';
export { ReadinessMode, TierKind } from './types.ts';
export type {
  AdminPolicy,
  BreakerPolicy,
  CachePolicy,
  CacheTier,
  DegradedTier,
  FailureRatePolicy,
  FleetPolicy,
  HealthCheckPolicy,
  LimitsPolicy,
  TelemetryPolicy,
  ListenAddress,
  ListenPolicy,
  Policy,
  PolicySource,
  RouteMatch,
  RoutePolicy,
  ShutdownPolicy,
  TierPolicy,
  UpstreamPolicy,
  UpstreamTier,
  UpstreamTimeouts,
} from './types.ts';
