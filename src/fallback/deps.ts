import type { ResponseCache } from '../cache/index.ts';
import type { Clock } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';
import type { Metrics } from '../metrics/index.ts';
import type { Tracing } from '../telemetry/index.ts';
import type { UpstreamSet } from '../upstream/index.ts';

/** What the chain needs from the process: the active upstreams, the cache and the instruments. */
export interface ChainDeps {
  readonly upstreams: UpstreamSet;
  readonly cache: ResponseCache;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly logger: Logger;
  /** OpenTelemetry tracing, or null when off: then the chain makes no tracing call (null checks only). */
  readonly tracing: Tracing | null;
}
