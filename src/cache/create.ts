import { BreakerState, CircuitBreaker, type BreakerOptions, type Transition } from '../breaker/index.ts';
import type { Clock } from '../clock/index.ts';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { CachePolicy } from '../policy/types.ts';
import { MemoryStore } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';
import { StoreCache } from './store-cache.ts';
import type { ResponseCache } from './types.ts';

/** Name of the cache's own breaker, as shown by the admin API and metrics. */
export const CACHE_BREAKER_NAME = 'cache';

/** What `createResponseCache` needs from the process. */
export interface CacheDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called on each state change of the cache breaker, after it is logged (metrics). */
  readonly onTransition?: (t: Transition) => void;
  /** Uniform [0, 1) source for the breaker's jitter. Default `Math.random`. */
  readonly random?: () => number;
}

function logTransition(logger: Logger, t: Transition): void {
  const fields = { breaker: t.name, from: t.from, to: t.to, reason: t.reason };
  if (t.to === BreakerState.OPEN || t.to === BreakerState.FORCED_OPEN) {
    logger.warn(fields, 'cache breaker opened; cache tier skipped, writes dropped');
  } else if (t.to === BreakerState.CLOSED) {
    logger.info(fields, 'cache breaker closed; cache tier back');
  } else {
    logger.info(fields, 'cache breaker half-open');
  }
}

/**
 * The cache tier of a policy (docs/design.md#the-request-path): `memory` (the default; an LRU bounded by
 * `maxEntries` / `maxBytes`, no breaker since it cannot fail) or `redis` (a store guarded by its
 * own breaker `cache`, connecting in the background; a reconnect half-opens the breaker at once).
 * Throws BW_ERR_POLICY_INVALID only for a redis backend without a URL (the policy compiler
 * rejects that first).
 *
 * @example
 * const cache = createResponseCache(policy.cache, { clock: systemClock, logger });
 * await cache.close();
 */
export function createResponseCache(policy: CachePolicy, deps: CacheDeps): ResponseCache {
  const { clock, logger } = deps;
  if (policy.backend === 'memory') {
    const store = new MemoryStore({
      maxEntries: policy.maxEntries,
      maxBytes: policy.maxBytes,
      maxEntryBytes: policy.maxEntryBytes,
      clock,
    });
    return new StoreCache(store, policy, { clock, logger, breaker: null });
  }
  if (policy.url === null) {
    throw new BreakwaterError(
      ErrorCode.POLICY_INVALID,
      'cache.url: expected a redis:// or rediss:// URL, got null',
    );
  }
  const options: BreakerOptions = {
    clock,
    onTransition: (t) => {
      logTransition(logger, t);
      deps.onTransition?.(t);
    },
    ...(deps.random === undefined ? {} : { random: deps.random }),
  };
  const breaker = new CircuitBreaker(CACHE_BREAKER_NAME, policy.breaker, options);
  const store = new RedisStore({
    url: policy.url,
    commandTimeoutMs: policy.commandTimeoutMs,
    maxEntryBytes: policy.maxEntryBytes,
    clock,
    logger,
    // A fresh connection is as good as a passed health check: trial now, not after the full wait.
    onReady: () => void breaker.tryHalfOpen(),
  });
  return new StoreCache(store, policy, { clock, logger, breaker });
}
