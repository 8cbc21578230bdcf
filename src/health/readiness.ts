import type { CircuitBreaker } from '../breaker/index.ts';
import { ReadinessMode, type Policy, type RoutePolicy } from '../policy/index.ts';

/** How well the sidecar can answer now, whatever the readiness mode (docs/operations.md#health-endpoints-and-readiness-modes). */
export const ServingLevel = {
  /** Every route's first upstream tier is available. */
  PRIMARY: 'primary',
  /** Some route has lost its first upstream tier but every route can still answer. */
  DEGRADED: 'degraded',
  /** Some route has nothing left that could answer. */
  DOWN: 'down',
} as const;
export type ServingLevel = (typeof ServingLevel)[keyof typeof ServingLevel];

/** The breakers readiness looks at: upstreams by name, and the cache store's own (null: none). */
export interface BreakerLookup {
  upstream(name: string): CircuitBreaker | undefined;
  readonly cache: CircuitBreaker | null;
}

/** One upstream as `/healthz/ready` shows it. */
export interface UpstreamHealth {
  readonly state: string;
  /** `breaker.isAvailable()`: closed, half-open with a free trial slot, or open past its recovery time. */
  readonly available: boolean;
}

/** The body of `/healthz/ready` (and its status: 200 when `ready`, 503 otherwise). */
export interface Readiness {
  readonly ready: boolean;
  readonly status: 'ready' | 'not_ready';
  readonly mode: ReadinessMode;
  readonly level: ServingLevel;
  /** Set from the first moment of shutdown; readiness is then false whatever the mode. */
  readonly shutting_down: boolean;
  /** Why not ready; null when ready. */
  readonly reason: string | null;
  readonly upstreams: Readonly<Record<string, UpstreamHealth>>;
  /** Serving level of each route. */
  readonly routes: Readonly<Record<string, ServingLevel>>;
}

const LEVEL_RANK: Readonly<Record<ServingLevel, number>> = { primary: 0, degraded: 1, down: 2 };

interface RouteView {
  /** The route has at least one upstream tier. */
  readonly hasUpstream: boolean;
  readonly firstUpstreamAvailable: boolean;
  readonly anyUpstreamAvailable: boolean;
  readonly canAnswer: boolean;
}

function viewRoute(
  route: RoutePolicy,
  available: ReadonlyMap<string, boolean>,
  cacheAvailable: boolean,
): RouteView {
  let hasUpstream = false;
  let first = false;
  let any = false;
  let canAnswer = false;
  for (const tier of route.chain) {
    if (tier.kind === 'upstream') {
      const ok = available.get(tier.upstream) === true;
      if (!hasUpstream) first = ok;
      hasUpstream = true;
      any ||= ok;
      canAnswer ||= ok;
    } else if (tier.kind === 'cache') {
      canAnswer ||= cacheAvailable;
    } else {
      canAnswer = true;
    }
  }
  return { hasUpstream, firstUpstreamAvailable: first, anyUpstreamAvailable: any, canAnswer };
}

function levelOf(v: RouteView): ServingLevel {
  if (v.hasUpstream ? v.firstUpstreamAvailable : v.canAnswer) return ServingLevel.PRIMARY;
  return v.canAnswer ? ServingLevel.DEGRADED : ServingLevel.DOWN;
}

/** The readiness rule of each mode, for one route; a string says why it fails. */
function routeFails(mode: ReadinessMode, v: RouteView): string | null {
  switch (mode) {
    case ReadinessMode.ANY_UPSTREAM:
      return v.hasUpstream && !v.anyUpstreamAvailable ? 'no upstream tier available' : null;
    case ReadinessMode.PRIMARY:
      return v.hasUpstream && !v.firstUpstreamAvailable ? 'first upstream tier not available' : null;
    case ReadinessMode.CHAIN:
      return v.canAnswer ? null : 'no tier can answer';
    default:
      return null;
  }
}

/**
 * Judges readiness (docs/operations.md#health-endpoints-and-readiness-modes). Modes: `any-upstream` — every route has an upstream tier whose
 * breaker is available; `primary` — every route's first upstream tier is available; `chain` —
 * every route can still answer at all (an available upstream, a cache tier whose store is
 * available, or a degraded tier); `always`. Routes without upstream tiers do not hold back
 * `any-upstream` or `primary`. Not started or shutting down: never ready.
 */
export function judgeReadiness(
  policy: Policy,
  breakers: BreakerLookup,
  state: { readonly started: boolean; readonly shuttingDown: boolean },
): Readiness {
  const upstreams: Record<string, UpstreamHealth> = {};
  const available = new Map<string, boolean>();
  for (const u of policy.upstreams) {
    const b = breakers.upstream(u.name);
    const ok = b?.isAvailable() ?? false;
    available.set(u.name, ok);
    upstreams[u.name] = { state: b?.state ?? 'unknown', available: ok };
  }
  const cacheAvailable = breakers.cache?.isAvailable() ?? true;
  const routes: Record<string, ServingLevel> = {};
  let level: ServingLevel = ServingLevel.PRIMARY;
  let reason: string | null = null;
  for (const route of policy.routes) {
    const v = viewRoute(route, available, cacheAvailable);
    const l = levelOf(v);
    routes[route.name] = l;
    if (LEVEL_RANK[l] > LEVEL_RANK[level]) level = l;
    const why = routeFails(policy.readiness, v);
    if (why !== null && reason === null) reason = `route ${route.name}: ${why}`;
  }
  if (!state.started) reason = 'starting';
  if (state.shuttingDown) reason = 'shutting down';
  const ready = reason === null;
  return {
    ready,
    status: ready ? 'ready' : 'not_ready',
    mode: policy.readiness,
    level,
    shutting_down: state.shuttingDown,
    reason,
    upstreams,
    routes,
  };
}
