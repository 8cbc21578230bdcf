import type { ResponseCache } from './types.ts';

/** A cache that stores nothing and never hits. */
export const nullCache: ResponseCache = Object.freeze({
  maxEntryBytes: 0,
  breaker: null,
  keyFor: () => null,
  serve: () => Promise.resolve(false as const),
  store: () => undefined,
  close: () => Promise.resolve(),
});
