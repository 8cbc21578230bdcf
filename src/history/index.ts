export { HISTORY_BUCKETS, HISTORY_BUCKET_MS, HistoryRecorder } from './recorder.ts';
export type { BreakerSample, FirstTokenSample, HistoryBucket, HistoryView, StateSource } from './recorder.ts';
export { quantileOfDelta } from './quantile.ts';
export type { Buckets } from './quantile.ts';
export { Ring } from './ring.ts';
