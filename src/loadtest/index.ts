export {
  DEFAULT_CONCURRENCY,
  DEFAULT_REQUESTS,
  DEFAULT_TIMEOUT_MS,
  MAX_CONCURRENCY,
  runLoad,
} from './run.ts';
export type { LoadDeps, LoadOptions, LoadResult } from './run.ts';
export { percentile, summarize } from './summarize.ts';
export {
  DEFAULT_OLLAMA_MODEL,
  DEFAULT_OPENAI_MODEL,
  DEFAULT_PROMPT,
  asksForStream,
  defaultBody,
} from './body.ts';
export type { BodyOptions } from './body.ts';
export { StreamCheck } from './stream-check.ts';
export { formatSummary, loadReport } from './report.ts';
export type { LoadReport, LoadTarget } from './report.ts';
export { ErrorKind, NO_TIER } from './types.ts';
export type { FirstByteStats, LatencyStats, Sample, Summary, TierCount } from './types.ts';
