import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { AdminPolicy, ListenAddress } from '../policy/index.ts';
import { isLoopbackHost } from '../policy/index.ts';
import { HostNames, parseHost } from './host-check.ts';

/** What an admin route exposes, which decides the checks it gets. */
export const Access = {
  /** The page's static HTML: no data, so a browser can load it before it has the token. */
  PAGE: 'page',
  /** GET / HEAD of data: breakers, policy, metrics, tier usage. */
  READ: 'read',
  /** POST that changes a breaker. */
  CONTROL: 'control',
} as const;
export type Access = (typeof Access)[keyof typeof Access];

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Compares a presented `Authorization: Bearer <token>` with the configured token in constant
 * time: both sides are hashed to equal-length sha256 digests before `timingSafeEqual`, so neither
 * the token's length nor its first differing byte shows in the timing.
 */
export function tokenMatches(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  const value = authorization.trim();
  if (value.length < 8 || value.slice(0, 7).toLowerCase() !== 'bearer ') return false;
  const presented = value.slice(7).trimStart();
  return presented !== '' && timingSafeEqual(digest(presented), digest(token));
}

const forbidden = (message: string): BreakwaterError =>
  new BreakwaterError(ErrorCode.ADMIN_FORBIDDEN, message);
const unauthorized = (message: string): BreakwaterError =>
  new BreakwaterError(ErrorCode.ADMIN_UNAUTHORIZED, message);

/** Media types a browser form can send cross-site without a preflight (WHATWG Fetch, CORS-safelisted). */
const JSON_TYPE = 'application/json';

/**
 * Why a control call looks like one a browser sent from another site, or null. Checked even on
 * loopback: a page the operator has open elsewhere can reach `127.0.0.1` too.
 * - `Sec-Fetch-Site` other than `same-origin` / `none` (user-typed);
 * - an `Origin` other than the listener's own (`http://` + the validated `Host`), `null` included;
 * - a body type other than JSON: a form POST (`application/x-www-form-urlencoded`,
 *   `multipart/form-data`, `text/plain`) needs no preflight, so it is refused (415).
 */
function crossSite(req: IncomingMessage, host: string): BreakwaterError | null {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return forbidden(`control call from another site refused (Sec-Fetch-Site: ${site})`);
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) {
    return forbidden(`control call from another origin refused (Origin: ${origin.slice(0, 100)})`);
  }
  const type = req.headers['content-type'];
  if (type !== undefined && type.split(';', 1)[0]!.trim().toLowerCase() !== JSON_TYPE) {
    return new BreakwaterError(
      ErrorCode.MEDIA_TYPE_UNSUPPORTED,
      `control calls take no body or ${JSON_TYPE}, not ${type.slice(0, 100)}`,
    );
  }
  return null;
}

/**
 * The checks every admin request passes, built once per listener from its bound address.
 * 1. `Host` ({@link AdminGuard.checkHost}, every request, before anything else): exactly one,
 *    well-formed, and one of the listener's own names ({@link HostNames}); else 400 (missing,
 *    duplicate, malformed: RFC 9112 §3.2) or 403 `BW_ERR_ADMIN_FORBIDDEN`.
 * 2. Control calls: refused when a browser sent them from another site ({@link crossSite}).
 * 3. Token: on a non-loopback listener every read and control call needs
 *    `Authorization: Bearer <admin.token>` (the page's static HTML excepted); on loopback only
 *    control calls, and only when a token is configured. A non-loopback listener whose policy
 *    lost its token (a reload) refuses everything but the page.
 */
export class AdminGuard {
  readonly #names: HostNames;
  readonly #loopbackBound: boolean;

  constructor(bound: ListenAddress) {
    this.#names = new HostNames(bound);
    this.#loopbackBound = isLoopbackHost(bound.host);
  }

  /** Null when the request's `Host` names this listener, else the error to answer. */
  checkHost(req: IncomingMessage, admin: AdminPolicy): BreakwaterError | null {
    const hosts = req.headersDistinct.host;
    if (hosts === undefined || hosts.length !== 1) {
      const why = hosts === undefined ? 'no Host header' : 'more than one Host header';
      return new BreakwaterError(ErrorCode.REQUEST_INVALID, `${why} (RFC 9112 §3.2)`);
    }
    const host = parseHost(hosts[0]!);
    if (host === null) return new BreakwaterError(ErrorCode.REQUEST_INVALID, 'malformed Host header');
    if (this.#names.accepts(host, admin.allowedHosts)) return null;
    return forbidden(
      `Host ${host.authorityName} is none of this admin listener's names (admin.allowedHosts)`,
    );
  }

  /** Null when a request that passed {@link checkHost} may reach a route of `access`. */
  checkAccess(req: IncomingMessage, admin: AdminPolicy, access: Access): BreakwaterError | null {
    if (access === Access.CONTROL) {
      const refused = crossSite(req, (req.headers.host ?? '').toLowerCase());
      if (refused !== null) return refused;
    }
    if (access === Access.PAGE) return null;
    const needed = !this.#loopbackBound || (access === Access.CONTROL && admin.token !== null);
    if (!needed) return null;
    if (admin.token === null) return unauthorized('admin API on a non-loopback address needs admin.token');
    return tokenMatches(req.headers.authorization, admin.token)
      ? null
      : unauthorized('this admin call needs Authorization: Bearer <admin.token>');
  }
}
