import type { Kind, Parsed } from './fields.ts';

/** An upstream URL taken apart (see `UpstreamPolicy`). */
export interface UrlParts {
  readonly origin: string;
  readonly basePath: string;
  readonly authority: string;
  /** Lower-cased; IPv6 without brackets (ready for connect / DNS). */
  readonly hostname: string;
  readonly port: number;
  /** `user:password` from the URL, decoded; null when none. */
  readonly userinfo: string | null;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string, at?: readonly PropertyKey[]): Parsed<T> =>
  at ? { ok: false, message, at } : { ok: false, message };

/** `http://` or `https://` URL, optionally with a path (→ `basePath`); no query or fragment. */
export const httpUrl: Kind<UrlParts> = {
  expected: 'expected an http:// or https:// URL without query or fragment',
  parse(v) {
    let url: URL;
    try {
      if (typeof v !== 'string') return fail(httpUrl.expected);
      url = new URL(v.trim());
    } catch {
      return fail(httpUrl.expected);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
      return fail(httpUrl.expected);
    }
    if (url.hostname === '') return fail(httpUrl.expected);
    const trimmedPath = url.pathname.replace(/\/+$/, '');
    const userinfo =
      url.username === '' && url.password === ''
        ? null
        : `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    return ok({
      origin: url.origin,
      basePath: trimmedPath === '' ? '/' : trimmedPath,
      authority: url.host,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
      userinfo,
    });
  },
};

/**
 * OTLP/HTTP base URL (`http://collector:4318`): spans go to `<url>/v1/traces`, as with
 * `OTEL_EXPORTER_OTLP_ENDPOINT`. Kept as written, without a trailing `/`.
 */
export const otlpUrl: Kind<string> = {
  expected: 'expected an http:// or https:// URL without query or fragment (OTLP/HTTP base URL)',
  parse(v) {
    const parts = httpUrl.parse(v);
    if (!parts.ok || typeof v !== 'string') return fail(otlpUrl.expected);
    return ok(v.trim().replace(/\/+$/, ''));
  },
};

/** `redis://` or `rediss://` URL, kept as written (the Redis client reads it). */
export const redisUrl: Kind<string> = {
  expected: 'expected a redis:// or rediss:// URL',
  parse(v) {
    if (typeof v !== 'string') return fail(redisUrl.expected);
    try {
      const url = new URL(v.trim());
      return url.protocol === 'redis:' || url.protocol === 'rediss:' ? ok(v.trim()) : fail(redisUrl.expected);
    } catch {
      return fail(redisUrl.expected);
    }
  },
};

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Headers the proxy itself manages per hop (RFC 9110 §7.6.1) or per body; setting them would break framing.
const MANAGED_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
]);

/** Per-upstream headers: names lower-cased, values strings without CR/LF. */
export const headerMap: Kind<Record<string, string>> = {
  expected: 'expected a mapping of header name → string value',
  parse(v) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(headerMap.expected);
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(v)) {
      const lower = key.toLowerCase();
      if (!TOKEN_RE.test(key)) return fail('expected a valid header name', [key]);
      if (MANAGED_HEADERS.has(lower)) {
        return fail(`expected a header the proxy does not manage, got "${key}"`, [key]);
      }
      if (Object.hasOwn(out, lower)) {
        return fail(`expected each header once (names are case-insensitive), got "${key}" twice`, [key]);
      }
      if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
        return fail('expected a string without line breaks', [key]);
      }
      out[lower] = value;
    }
    return ok(out);
  },
};

/**
 * Request headers that carry a caller's credentials or identity (`cache.keyHeaders` default): the
 * cache key hashes them in so that an answer never crosses callers. `authorization` (OpenAI,
 * MAX, Ollama behind a gateway), `proxy-authorization` (the caller's proxy credentials), `cookie`
 * (session), `x-api-key` (Anthropic and many gateways), `api-key` (Azure OpenAI),
 * `x-goog-api-key` (Gemini), `openai-organization` / `openai-project` (OpenAI accounts),
 * `ocp-apim-subscription-key` (Azure API Management).
 */
export const CACHE_KEY_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'openai-organization',
  'openai-project',
  'ocp-apim-subscription-key',
];

/** A list of header names (possibly empty): lower-cased, without duplicates, in the order given. */
export const headerNames: Kind<string[]> = {
  expected: 'expected a list of header names',
  parse(v) {
    if (!Array.isArray(v)) return fail(headerNames.expected);
    const out: string[] = [];
    for (const [i, item] of v.entries()) {
      if (typeof item !== 'string' || !TOKEN_RE.test(item)) return fail('expected a valid header name', [i]);
      const lower = item.toLowerCase();
      if (!out.includes(lower)) out.push(lower);
    }
    return ok(out);
  },
};

/** Header names whose values are credentials; redacted in `policy.redacted`. */
export function isCredentialHeader(nameLower: string): boolean {
  return /authorization|api[-_]?key|cookie|token|secret|password/.test(nameLower);
}
