import type { Clock } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';
import type { FleetPolicy } from '../policy/index.ts';
import type { FleetKeys } from './keys.ts';
import type { FleetMetrics } from './metrics.ts';
import type { FleetStore } from './store.ts';

/** What the agent's parts share: who this pod is, the group's keys, the store and the instruments. */
export interface FleetContext {
  readonly podId: string;
  readonly policy: FleetPolicy;
  readonly keys: FleetKeys;
  readonly store: FleetStore;
  readonly metrics: FleetMetrics;
  readonly clock: Clock;
  readonly logger: Logger;
}
