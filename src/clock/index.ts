export { ManualClock, systemClock } from './clock.ts';
export type { Clock, TimerHandle } from './clock.ts';
