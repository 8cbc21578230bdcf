import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { parseAuthority } from './authority.ts';

/** Target of a CONNECT tunnel, by socket: its inner requests are routed to that authority. */
export const tunnelTargets = new WeakMap<Socket, string>();

/** Where a request is addressed. */
export interface Target {
  /** Normalized `host:port` the request was addressed to, or null. */
  readonly authority: string | null;
  /** True for absolute-form and tunnelled requests: only known hosts are carried. */
  readonly captured: boolean;
  readonly pathWithQuery: string;
}

const invalid = (message: string): BreakwaterError =>
  new BreakwaterError(ErrorCode.REQUEST_INVALID, message, 400);

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
 * Where `req` is addressed, or the `400` (or `501`) it gets: origin-form (`/path`, by `Host`, or
 * by the CONNECT tunnel it came through), absolute-form `http://authority/path` (no userinfo, one
 * port at most), anything else refused. A `Transfer-Encoding` other than `chunked` gets `501`
 * (RFC 9112 §6.1: a coding the server does not understand).
 */
export function targetOf(req: IncomingMessage): Target | BreakwaterError {
  const host = checkHost(req);
  if (host instanceof BreakwaterError) return host;
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.toLowerCase() !== 'chunked') {
    return new BreakwaterError(
      ErrorCode.REQUEST_INVALID,
      `unsupported transfer-encoding: ${te.slice(0, 100)}`,
      501,
    );
  }
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 0x2f /* / */) {
    const tunnel = tunnelTargets.get(req.socket);
    if (tunnel !== undefined) return { authority: tunnel, captured: true, pathWithQuery: url };
    return { authority: host, captured: false, pathWithQuery: url };
  }
  if (url.startsWith('http://')) {
    const slash = url.indexOf('/', 7);
    const authority = parseAuthority(slash === -1 ? url.slice(7) : url.slice(7, slash));
    if (authority === null) return invalid(`unsupported request target: ${url.slice(0, 200)}`);
    return { authority, captured: true, pathWithQuery: slash === -1 ? '/' : url.slice(slash) };
  }
  return invalid(`unsupported request target: ${url.slice(0, 200)}`);
}
