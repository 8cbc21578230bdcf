export { Sidecar } from './sidecar.ts';
export type { Closable, SidecarOptions } from './sidecar.ts';
export { startSidecar } from './run.ts';
export type { RunOptions } from './run.ts';
export { drain } from './drain.ts';
export type { DrainOutcome, DrainTarget } from './drain.ts';
