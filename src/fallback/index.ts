export { runChain } from './chain.ts';
export type { ChainDeps } from './deps.ts';
export { attemptUpstream } from './tier-attempt.ts';
export type { AttemptContext } from './tier-attempt.ts';
export { attemptCache, attemptDegraded } from './answer-tiers.ts';
export { answerHeaders, skippedHeader } from './answer-headers.ts';
export { passthroughUpstream } from './passthrough-tier.ts';
export type { ChainRequest, Exhausted, SkipNote, TierResult } from './request.ts';
