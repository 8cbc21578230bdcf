import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { endpointOf, protocolOfPath, type EndpointInfo, type Protocol } from '../protocol/index.ts';
import type { RouteMatchResult, RouteTable } from './route-table.ts';
import type { Target } from './target.ts';

/** A routed request: its route and start tier, its LLM endpoint (null: pass-through), its protocol. */
export interface Routed {
  readonly ok: true;
  readonly match: RouteMatchResult;
  readonly endpoint: EndpointInfo | null;
  readonly protocol: Protocol;
}

/** A request that cannot be routed, with the protocol its error is written in. */
export interface NotRouted {
  readonly ok: false;
  readonly error: BreakwaterError;
  readonly protocol: Protocol;
}

/** Methods whose answer echoes the request (RFC 9110 §9.3.8; TRACK is IIS's name for it). */
const ECHOING: ReadonlySet<string> = new Set(['TRACE', 'TRACK']);

/**
 * The route step (docs/design.md#routing): the endpoint and protocol of the path, then the route
 * by host and longest prefix. Absolute-form and tunnelled targets must be known hosts: breakwater
 * is never an open proxy. TRACE is refused (405).
 */
export function routeOf(routes: RouteTable, target: Target, method: string): Routed | NotRouted {
  const endpoint = endpointOf(method, target.path);
  const protocol = endpoint?.protocol ?? protocolOfPath(target.path);
  if (ECHOING.has(method)) {
    // An upstream answers TRACE with the request it got, tier headers (an upstream's token) included.
    const msg = `${method} is not carried: its answer would echo the credentials breakwater adds for the upstream`;
    return { ok: false, error: new BreakwaterError(ErrorCode.METHOD_NOT_ALLOWED, msg), protocol };
  }
  if (target.captured && !routes.isKnownAuthority(target.authority!)) {
    return { ok: false, error: unknownHost(target.authority!), protocol };
  }
  const match = routes.match(target.authority, target.path);
  if (match === null) {
    const error = new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, `no route for ${method} ${target.path}`);
    return { ok: false, error, protocol };
  }
  return { ok: true, match, endpoint, protocol };
}

/** The refusal of an absolute-form or CONNECT target that is no upstream and no route host. */
export function unknownHost(authority: string): BreakwaterError {
  const msg = `no route for host ${authority}: breakwater carries only its upstreams and route hosts`;
  return new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, msg);
}
