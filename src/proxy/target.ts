import type { IncomingMessage } from 'node:http';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { parseAuthority } from './authority.ts';

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

const invalid = (message: string): BreakwaterError => new BreakwaterError(ErrorCode.REQUEST_INVALID, message);

/** Number of `Host` lines in the raw headers (Node keeps only the first in `req.headers`). */
function hostLines(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') n++;
  }
  return n;
}

/**
 * The `Host` checks of RFC 9112 §3.2, which Node leaves to the application (it keeps the first of
 * several Host lines, and its own missing-Host answer has no body): an HTTP/1.1 request without
 * Host, with more than one, or with one that is not a valid authority gets `400`.
 */
function checkHost(req: IncomingMessage): BreakwaterError | string | null {
  const host = req.headers.host;
  if (host === undefined) {
    return req.httpVersionMajor === 1 && req.httpVersionMinor === 0 ? null : invalid('missing Host header');
  }
  if (hostLines(req.rawHeaders) > 1) return invalid('more than one Host header');
  if (host === '') return null;
  return parseAuthority(host) ?? invalid(`invalid Host header: ${host.slice(0, 100)}`);
}

/**
 * The target of a request line: origin-form (`/path`, by `host`, or by the authority of the
 * CONNECT `tunnel` it came through) or absolute-form `http://authority/path` (no userinfo, one
 * port at most); null for anything else, or for a host that is no valid authority.
 */
export function targetOf(url: string, host: string | undefined, tunnel: string | null): Target | null {
  if (url.charCodeAt(0) === 0x2f /* / */) {
    if (tunnel !== null) return target(tunnel, true, url);
    if (host === undefined) return target(null, false, url);
    const authority = parseAuthority(host);
    return authority === null ? null : target(authority, false, url);
  }
  if (url.startsWith('http://')) {
    const slash = url.indexOf('/', 7);
    const authority = parseAuthority(slash === -1 ? url.slice(7) : url.slice(7, slash));
    if (authority === null) return null;
    return target(authority, true, slash === -1 ? '/' : url.slice(slash));
  }
  return null;
}

/**
 * The target step (docs/design.md#ingress-forms): where `req` is addressed, or the refusal it
 * gets — a bad `Host` (RFC 9112 §3.2) or request target `BW_ERR_REQUEST_INVALID`, a
 * `Transfer-Encoding` other than `chunked` the same code with `501` (RFC 9112 §6.1: a coding the
 * server does not understand).
 */
export function requestTarget(req: IncomingMessage, tunnel: string | null): Target | BreakwaterError {
  const host = checkHost(req);
  if (host instanceof BreakwaterError) return host;
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.toLowerCase() !== 'chunked') {
    const msg = `unsupported transfer-encoding: ${te.slice(0, 100)}`;
    return new BreakwaterError(ErrorCode.REQUEST_INVALID, msg, { refusal: 'transferCoding' });
  }
  const url = req.url ?? '/';
  return (
    targetOf(url, host ?? undefined, tunnel) ?? invalid(`unsupported request target: ${url.slice(0, 200)}`)
  );
}
