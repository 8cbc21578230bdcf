import type { RoutePolicy } from '../policy/index.ts';
import type { UpstreamRuntime } from '../upstream/index.ts';
import type { ChainDeps } from './deps.ts';

/**
 * The upstream a non-LLM call is passed through to (docs/design.md#routing): the first upstream
 * tier from `startIndex` whose breaker is not open, or null when every one is. Pass-through calls
 * take no permit and do not count against breakers.
 */
export function passthroughUpstream(
  deps: ChainDeps,
  route: RoutePolicy,
  startIndex: number,
): UpstreamRuntime | null {
  const chain = route.chain;
  for (let i = startIndex; i < chain.length; i++) {
    const tier = chain[i]!;
    if (tier.kind !== 'upstream') continue;
    const up = deps.upstreams.byName.get(tier.upstream)!;
    const s = up.breaker.state;
    if (s !== 'open' && s !== 'forced_open') return up;
  }
  return null;
}
