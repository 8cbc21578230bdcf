/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) plus the ones breakwater sets itself. Precomputed once;
 * names listed in the `Connection` header are stripped as well.
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

/**
 * Builds the upstream request headers as a flat `[name, value, …]` array from the client's raw
 * headers: hop-by-hop and Connection-listed names dropped, `Host` set to the upstream authority,
 * `accept-encoding: identity` (breakwater reads streamed events), the tier's own headers applied
 * (a tier `authorization` replaces the client's).
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  connection: string | undefined,
  authority: string,
  tierHeaders: Readonly<Record<string, string>>,
  tierHeaderNames: ReadonlySet<string>,
  bodyLength: number | null,
): string[] {
  const listed = connectionListed(connection);
  const out: string[] = ['host', authority];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || REQUEST_OWNED.has(lower) || tierHeaderNames.has(lower)) continue;
    if (listed?.has(lower) === true) continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  for (const name of tierHeaderNames) out.push(name, tierHeaders[name]!);
  out.push('accept-encoding', 'identity');
  if (bodyLength !== null) out.push('content-length', String(bodyLength));
  return out;
}

/** Client response headers from an upstream's: hop-by-hop and recomputed names dropped. */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  extra: Readonly<Record<string, string>>,
): Record<string, string | string[]> {
  const listed = connectionListed(typeof upstream.connection === 'string' ? upstream.connection : undefined);
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const v = upstream[name];
    if (v === undefined || HOP_BY_HOP.has(name) || RESPONSE_OWNED.has(name)) continue;
    if (listed?.has(name) === true) continue;
    out[name] = v;
  }
  for (const name in extra) out[name] = extra[name]!;
  return out;
}
