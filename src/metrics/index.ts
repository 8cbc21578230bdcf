export { Metrics, STATE_GAUGE } from './registry.ts';
export type { BreakerTotals } from './registry.ts';
