import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { Access } from './auth.ts';

/** The admin endpoints. */
export const AdminEndpoint = {
  PAGE: 'page',
  METRICS: 'metrics',
  TIER_USAGE: 'tier-usage',
  HISTORY: 'history',
  CONFIG: 'config',
  LIST: 'list',
  ONE: 'one',
  RESET_ALL: 'reset-all',
  RESET: 'reset',
  OPEN: 'open',
  FLEET: 'fleet',
  FLEET_RESET: 'fleet-reset',
  FLEET_OPEN: 'fleet-open',
} as const;
export type AdminEndpoint = (typeof AdminEndpoint)[keyof typeof AdminEndpoint];

/** A request matched to an endpoint; `segment` is the still-encoded breaker name, if any. */
export interface AdminRoute {
  readonly endpoint: AdminEndpoint;
  readonly access: Access;
  readonly segment: string | null;
}

/** Longest breaker name, in characters: the same as an upstream name in the policy. */
export const MAX_BREAKER_NAME_CHARS = 63;
/** Breaker names: upstream names (letters, digits, `.`, `_`, `-`, starting with a letter) and `cache`. */
const BREAKER_NAME_RE = /^[A-Za-z][A-Za-z0-9._-]{0,62}$/;
/** A percent-encoded name is at most three characters per character. */
const MAX_SEGMENT_CHARS = MAX_BREAKER_NAME_CHARS * 3;

const READ_ONLY = 'GET, HEAD';
const isRead = (method: string): boolean => method === 'GET' || method === 'HEAD';

const READS: ReadonlyMap<string, AdminEndpoint> = new Map([
  ['', AdminEndpoint.PAGE],
  ['index.html', AdminEndpoint.PAGE],
  ['metrics', AdminEndpoint.METRICS],
  ['tier-usage', AdminEndpoint.TIER_USAGE],
  ['history', AdminEndpoint.HISTORY],
  ['config', AdminEndpoint.CONFIG],
  ['fleet', AdminEndpoint.FLEET],
]);

/** A request no endpoint takes: the error to answer and, for a `405`, the methods the path takes. */
export interface RouteRefusal {
  readonly error: BreakwaterError;
  readonly allow: string | null;
}

function notAllowed(method: string, path: string, allow: string): RouteRefusal {
  const error = new BreakwaterError(ErrorCode.METHOD_NOT_ALLOWED, `method ${method} not allowed on ${path}`);
  return { error, allow };
}

function notFound(method: string, path: string): RouteRefusal {
  const error = new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, `no admin endpoint ${method} ${path}`);
  return { error, allow: null };
}

const route = (endpoint: AdminEndpoint, access: Access, segment: string | null = null): AdminRoute => ({
  endpoint,
  access,
  segment,
});

function breakerRoute(method: string, path: string, segs: readonly string[]): AdminRoute | RouteRefusal {
  const [, name, action] = segs;
  if (segs.length === 1) {
    return isRead(method) ? route(AdminEndpoint.LIST, Access.READ) : notAllowed(method, path, READ_ONLY);
  }
  if (segs.length === 2 && name !== '') {
    if (isRead(method)) return route(AdminEndpoint.ONE, Access.READ, name);
    if (name === 'reset' && method === 'POST') return route(AdminEndpoint.RESET_ALL, Access.CONTROL);
    return notAllowed(method, path, name === 'reset' ? 'GET, HEAD, POST' : READ_ONLY);
  }
  if (segs.length === 3 && name !== '' && (action === 'reset' || action === 'open')) {
    if (method !== 'POST') return notAllowed(method, path, 'POST');
    return route(action === 'reset' ? AdminEndpoint.RESET : AdminEndpoint.OPEN, Access.CONTROL, name);
  }
  return notFound(method, path);
}

/** `POST /fleet/circuit-breakers/NAME/open|reset`: a command for every pod of the group (fleet.md). */
function fleetRoute(method: string, path: string, segs: readonly string[]): AdminRoute | RouteRefusal {
  const [, kind, name, action] = segs;
  if (
    segs.length !== 4 ||
    kind !== 'circuit-breakers' ||
    name === '' ||
    (action !== 'reset' && action !== 'open')
  ) {
    return notFound(method, path);
  }
  if (method !== 'POST') return notAllowed(method, path, 'POST');
  return route(
    action === 'reset' ? AdminEndpoint.FLEET_RESET : AdminEndpoint.FLEET_OPEN,
    Access.CONTROL,
    name,
  );
}

/**
 * The endpoint of a request: `path` is the origin-form target without its query. Only GET and
 * HEAD read, only POST changes state; a known path with another method is `405` with the methods
 * it takes. Paths match exactly (one trailing `/` tolerated; `//`, `.` and `..` segments are not
 * normalised, so they match nothing).
 */
export function resolveRoute(method: string, path: string): AdminRoute | RouteRefusal {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const segs = trimmed.slice(1).split('/');
  if (segs[0] === 'circuit-breakers') return breakerRoute(method, path, segs);
  if (segs[0] === 'fleet' && segs.length > 1) return fleetRoute(method, path, segs);
  const read = segs.length === 1 ? READS.get(segs[0]!) : undefined;
  if (read === undefined) return notFound(method, path);
  if (!isRead(method)) return notAllowed(method, path, READ_ONLY);
  return route(read, read === AdminEndpoint.PAGE ? Access.PAGE : Access.READ);
}

/**
 * A breaker name from its path segment: percent-decoded once (`max%2Dgpu` → `max-gpu`), then held
 * to the character set and length of upstream names. A bad escape, an over-long segment or a
 * name no breaker can have (`..`, `a/b`, unicode, empty) is `400 BW_ERR_REQUEST_INVALID`.
 */
export function breakerName(segment: string): string {
  let name: string | null = null;
  if (segment.length <= MAX_SEGMENT_CHARS) {
    try {
      name = decodeURIComponent(segment);
    } catch {
      name = null;
    }
  }
  if (name === null || !BREAKER_NAME_RE.test(name)) {
    throw new BreakwaterError(
      ErrorCode.REQUEST_INVALID,
      `bad breaker name in path: ${JSON.stringify(segment.slice(0, MAX_SEGMENT_CHARS))}: expected letters, ` +
        `digits, ".", "_" or "-", starting with a letter, at most ${MAX_BREAKER_NAME_CHARS} characters`,
    );
  }
  return name;
}
