export { AttemptOutcome } from './observer.ts';
export type { AttemptEnd, AttemptSpan, AttemptStart, RequestTracer, Tracing } from './observer.ts';
export { startTracing } from './start.ts';
export type { TracingOptions } from './start.ts';
