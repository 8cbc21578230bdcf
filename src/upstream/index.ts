export { UpstreamCall } from './call.ts';
export type { CallOutcome, CallRequest } from './call-types.ts';
export { streamUsage, wholeTokens } from './tokens.ts';
export type { SecondsObserver, TokenReading } from './tokens.ts';
export { ClientWriter } from './client-writer.ts';
export { StreamRelay } from './stream-relay.ts';
export { Recorder } from './recorder.ts';
export type { RecordedAnswer } from './recorder.ts';
export { Resumption, assistantPiece } from './resumption.ts';
export { callFailure, classifyError, statusFailure } from './failure.ts';
export type { CallFailure } from './failure.ts';
export { UpstreamRuntime, UpstreamSet } from './runtime.ts';
export type { BudgetLease, TierBudget, UpstreamSetOptions } from './runtime.ts';
export {
  clientResponseHeaders,
  passthroughResponseHeaders,
  stripPassthroughRequestHeaders,
  upstreamRequestHeaders,
} from './headers.ts';
export { dnsLookup } from './resolver.ts';
