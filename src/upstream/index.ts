export { UpstreamCall } from './call.ts';
export { openStreams } from './call-types.ts';
export type { CallOutcome, CallRequest, RecordedAnswer } from './call-types.ts';
export { UpstreamRuntime, UpstreamSet } from './runtime.ts';
export type { BudgetLease, TierBudget, UpstreamSetOptions } from './runtime.ts';
export {
  clientResponseHeaders,
  passthroughResponseHeaders,
  stripPassthroughRequestHeaders,
  upstreamRequestHeaders,
} from './headers.ts';
export { dnsLookup } from './resolver.ts';
