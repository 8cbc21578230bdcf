export { runChain } from './chain.ts';
export type { ChainDeps, Exhausted } from './chain.ts';
export type { ChainRequest, SkipNote } from './request.ts';
