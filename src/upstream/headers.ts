import type { IncomingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) plus the ones breakwater sets itself. Precomputed once;
 * names listed in the `Connection` header are stripped as well. `proxy-authorization` carries
 * the credentials a client gives its proxy (`curl -x http://user:pass@…`): meant for breakwater's
 * hop, never for an upstream.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request headers never forwarded as the client sent them: rewritten or recomputed. */
const REQUEST_OWNED: ReadonlySet<string> = new Set(['host', 'content-length', 'accept-encoding', 'expect']);

/** Response headers recomputed by breakwater. */
const RESPONSE_OWNED: ReadonlySet<string> = new Set(['content-length', 'content-encoding']);

/**
 * Pass-through requests keep their body framing (`content-length`, `transfer-encoding`: http-proxy-3
 * streams the body as it came) and `host` (rewritten there); every other hop-by-hop name goes, and
 * `expect`, which Node already answered with `100 Continue`.
 */
const PASSTHROUGH_REQUEST_DROP: readonly string[] = [
  ...[...HOP_BY_HOP].filter((h) => h !== 'transfer-encoding'),
  'expect',
];
const FRAMING: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding']);

/** Response headers only breakwater sets (`x-breakwater-tier`, …): an upstream's own never pass. */
const OWN_PREFIX = 'x-breakwater-';

function connectionListed(value: string | undefined): ReadonlySet<string> | null {
  // The common values name no header: skip the split (this runs twice per request).
  if (value === undefined || value === '' || value === 'keep-alive' || value === 'close') return null;
  const names = value
    .toLowerCase()
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'close' && s !== 'keep-alive');
  return names.length === 0 ? null : new Set(names);
}

function connectionOf(headers: IncomingHttpHeaders): string | undefined {
  const c = headers.connection;
  return typeof c === 'string' ? c : undefined;
}

/**
 * Builds the upstream request headers as a flat `[name, value, …]` array from the client's raw
 * headers: hop-by-hop and Connection-listed names dropped, `Host` set to the upstream authority,
 * `accept-encoding: identity` (breakwater reads streamed events), the tier's own headers applied
 * (a tier `authorization` replaces the client's). With tracing on, `traceparent` names the tier
 * attempt's span in place of the caller's, whose `tracestate` passes unchanged, as W3C Trace
 * Context asks of a participant that adds no entry of its own (docs/operations.md#traces).
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  connection: string | undefined,
  authority: string,
  tierHeaders: Readonly<Record<string, string>>,
  tierHeaderNames: ReadonlySet<string>,
  bodyLength: number | null,
  traceparent: string | null = null,
): string[] {
  const listed = connectionListed(connection);
  const out: string[] = ['host', authority];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || REQUEST_OWNED.has(lower) || tierHeaderNames.has(lower)) continue;
    if (listed?.has(lower) === true) continue;
    if (traceparent !== null && lower === 'traceparent') continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  for (const name of tierHeaderNames) out.push(name, tierHeaders[name]!);
  if (traceparent !== null) out.push('traceparent', traceparent);
  out.push('accept-encoding', 'identity');
  if (bodyLength !== null) out.push('content-length', String(bodyLength));
  return out;
}

/**
 * Removes from a pass-through request's headers, in place, what must not reach the upstream:
 * hop-by-hop names (`proxy-authorization` among them), `expect`, and the names `Connection`
 * lists — except the body framing and `host`, which a listed name must not unframe.
 */
export function stripPassthroughRequestHeaders(headers: IncomingHttpHeaders): void {
  const listed = connectionListed(connectionOf(headers));
  for (const name of PASSTHROUGH_REQUEST_DROP) {
    if (headers[name] !== undefined) delete headers[name];
  }
  if (listed === null) return;
  for (const name of listed) if (!FRAMING.has(name)) delete headers[name];
}

function copyResponseHeaders(
  upstream: Readonly<Record<string, string | string[] | undefined>>,
  owned: ReadonlySet<string> | null,
): Record<string, string | string[]> {
  const c = upstream.connection;
  const listed = connectionListed(typeof c === 'string' ? c : undefined);
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const v = upstream[name];
    if (v === undefined || HOP_BY_HOP.has(name) || owned?.has(name) === true) continue;
    if (listed?.has(name) === true || name.startsWith(OWN_PREFIX)) continue;
    out[name] = v;
  }
  return out;
}

/**
 * Client response headers from an upstream's: hop-by-hop, Connection-listed and recomputed names
 * dropped, and any `x-breakwater-*` of the upstream's own (only breakwater sets those); then
 * `extra` applied.
 */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  extra: Readonly<Record<string, string>>,
): Record<string, string | string[]> {
  const out = copyResponseHeaders(upstream, RESPONSE_OWNED);
  for (const name in extra) out[name] = extra[name]!;
  return out;
}

/**
 * Client response headers of a pass-through answer: as `clientResponseHeaders`, but the body is
 * passed on as it came, so its `content-length` and `content-encoding` stay.
 */
export function passthroughResponseHeaders(
  upstream: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  return copyResponseHeaders(upstream, null);
}
