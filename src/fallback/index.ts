export { runChain } from './chain.ts';
export type { ChainDeps } from './chain.ts';
export type { ChainRequest, SkipNote } from './request.ts';
