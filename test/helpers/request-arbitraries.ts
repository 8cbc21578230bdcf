import fc from 'fast-check';

/** Paths of every LLM endpoint breakwater classifies, as clients send them. */
export const LLM_PATHS = [
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/embeddings',
  '/api/chat',
  '/api/generate',
  '/api/embed',
  '/api/embeddings',
] as const;

/** Paths that are passed through (not LLM calls). */
export const OTHER_PATHS = ['/v1/models', '/health', '/api/tags', '/api/version', '/', '/metrics'] as const;

/** Segments that trip naive path handling: dot segments, encoded separators, bad escapes, NUL. */
const TRICKY_SEGMENTS = [
  '',
  '.',
  '..',
  '%2e%2e',
  '%2E.',
  '%2F',
  '%2f..%2f',
  '%5C',
  '%00',
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AF',
  '%25',
  '%252F',
  ';',
  '~',
  'ä',
  '𝒳',
  '\u202e',
] as const;

/** A method: the usual ones, odd case, any token, or any string without line breaks. */
export const methodArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'post', 'Post'),
  fc.stringMatching(/^[A-Z]{1,12}$/),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[\r\n]/.test(s)),
);

/** One path segment: URL-safe, tricky, or any unicode. */
const segmentArb: fc.Arbitrary<string> = fc.oneof(
  fc.webSegment(),
  fc.constantFrom(...TRICKY_SEGMENTS),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);

/**
 * A request path (always starting with `/`): known endpoints behind any prefix, URL paths,
 * segment soups with `..`, `//`, percent-encoding and unicode, and very long paths.
 */
export const pathArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.array(segmentArb, { maxLength: 4 }), fc.constantFrom(...LLM_PATHS, ...OTHER_PATHS))
    .map(([pre, known]) => (pre.length === 0 ? known : `/${pre.join('/')}${known}`)),
  fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
  fc.array(segmentArb, { maxLength: 10 }).map((segs) => `/${segs.join('/')}`),
  fc
    .tuple(fc.constantFrom('a', '%2e', '../', '/', 'é'), fc.integer({ min: 100, max: 6000 }))
    .map(([unit, n]) => `/${unit.repeat(n)}`),
);

/** A query string (without `?`) a request line can carry: form-like parameters or any visible ASCII but `#`. */
export const queryArb: fc.Arbitrary<string> = fc.oneof(
  fc.webQueryParameters(),
  fc.stringMatching(/^[\x21-\x22\x24-\x7e]{0,40}$/),
);

/** Any query string without line breaks, spaces and control characters included. */
export const rawQueryArb: fc.Arbitrary<string> = fc.oneof(
  queryArb,
  fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)),
);

/** A `Host` / authority value: names, IP literals, ports, and malformed forms. */
export const hostArb: fc.Arbitrary<string> = fc.oneof(
  fc.domain(),
  fc.ipV4(),
  fc.ipV6().map((ip) => `[${ip}]`),
  fc.webAuthority({ withPort: true }),
  fc.tuple(fc.domain(), fc.integer({ min: 0, max: 99_999 })).map(([d, p]) => `${d}:${p}`),
  fc.constantFrom(
    '',
    ':',
    '[',
    '[::1',
    '::1',
    'a:b:c',
    'host:8000:80',
    'user@host',
    'UPPER.Example:8080',
    '127.1',
  ),
  fc.string({ maxLength: 30 }).filter((s) => !/[\r\n]/.test(s)),
);
