import { hash } from 'node:crypto';
import type { CacheRequest } from './types.ts';

/**
 * Top-level body fields that do not change the answer's content: how it is delivered (`stream`,
 * `stream_options`), who asked (`user`, an end-user tag for abuse tracking) and how long Ollama
 * keeps the model loaded (`keep_alive`). A streamed and a whole answer to the same question share
 * one entry: the cache replays it in either form.
 */
const IGNORED_FIELDS: ReadonlySet<string> = new Set(['stream', 'stream_options', 'user', 'keep_alive']);

function write(value: unknown, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify gives numbers one spelling (`1.0` → `1`) and escapes strings.
    out.push(JSON.stringify(value) ?? 'null');
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      write(value[i], out);
    }
    out.push(']');
    return;
  }
  writeObject(value as Record<string, unknown>, out, null);
}

function writeObject(
  obj: Readonly<Record<string, unknown>>,
  out: string[],
  skip: ReadonlySet<string> | null,
): void {
  const keys = Object.keys(obj).sort();
  out.push('{');
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined || (skip !== null && skip.has(k))) continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(k), ':');
    write(v, out);
  }
  out.push('}');
}

/**
 * The canonical JSON text of a request body: object keys sorted at every depth, no whitespace,
 * and the top-level delivery fields (`stream`, `stream_options`, `user`, `keep_alive`) left out.
 * Two bodies that ask the same question in a different key order give the same text.
 */
export function canonicalBody(body: Readonly<Record<string, unknown>>): string {
  const out: string[] = [];
  writeObject(body, out, IGNORED_FIELDS);
  return out.join('');
}

/** Length-prefixed, so no two different field lists give the same text. */
const field = (value: string): string => `${value.length}:${value}`;

/**
 * The cache key of a request, or null when it is not cacheable: an endpoint the cache does not
 * keep, `cache-control: no-store`, or a body that is not a JSON object. The key is `prefix` then
 * the sha256 (hex) of the route name, path, model as asked, the `Authorization` header (answers
 * never cross credentials; the header itself is never stored) and the canonical body. One-shot
 * `crypto.hash` over one string: incremental `createHash` updates cost ~2.5 % of the proxy's CPU.
 */
export function cacheKey(prefix: string, req: CacheRequest): string | null {
  if (!req.endpoint.cacheable || req.noStore || req.json === null) return null;
  const text =
    field(req.routeName) +
    field(req.path) +
    field(req.model === null ? '\u0000' : `=${req.model}`) +
    field(req.authorization === undefined ? '-' : `=${req.authorization}`) +
    canonicalBody(req.json);
  return prefix + hash('sha256', text, 'hex');
}
