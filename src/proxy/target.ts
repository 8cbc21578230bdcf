import { normalizeAuthority } from './route-table.ts';

/** Where a request is addressed (docs/design.md#ingress-forms). */
export interface Target {
  /** Normalized `host:port` the request was addressed to, or null when it named none. */
  readonly authority: string | null;
  /** True for absolute-form and tunnelled requests: only known hosts are carried. */
  readonly captured: boolean;
  /** Path and query. */
  readonly pathWithQuery: string;
  /** Path without query. */
  readonly path: string;
}

function target(authority: string | null, captured: boolean, pathWithQuery: string): Target {
  const q = pathWithQuery.indexOf('?');
  const path = q === -1 ? pathWithQuery : pathWithQuery.slice(0, q);
  return { authority, captured, pathWithQuery, path };
}

/**
 * The target step: the request target of an origin-form request (its `Host`, or the tunnel's
 * authority inside a CONNECT tunnel) or of an `http://` absolute-form request; null for anything
 * else (the caller answers `BW_ERR_REQUEST_INVALID`).
 */
export function targetOf(url: string, host: string | undefined, tunnel: string | null): Target | null {
  if (url.charCodeAt(0) === 0x2f /* / */) {
    if (tunnel !== null) return target(tunnel, true, url);
    return target(host === undefined ? null : normalizeAuthority(host), false, url);
  }
  if (url.startsWith('http://')) {
    const slash = url.indexOf('/', 7);
    const authority = slash === -1 ? url.slice(7) : url.slice(7, slash);
    if (authority === '' || authority.includes('@')) return null;
    return target(normalizeAuthority(authority), true, slash === -1 ? '/' : url.slice(slash));
  }
  return null;
}
