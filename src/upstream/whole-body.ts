import { isUtf8 } from 'node:buffer';
import { FailureKind } from '../breaker/index.ts';
import type { Framing } from '../protocol/index.ts';
import { callFailure, statusFailure, type CallFailure } from './failure.ts';

type UpstreamHeaders = Record<string, string | string[] | undefined>;

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** `response body over limits.maxResponseBody (33554432 bytes)`. */
export function bodyTooLarge(maxBodyBytes: number, size = ''): string {
  return `response body ${size}over limits.maxResponseBody (${maxBodyBytes} bytes)`;
}

function mediaType(contentType: string | string[] | undefined): string | null {
  const ct = Array.isArray(contentType) ? contentType[0] : contentType;
  if (ct === undefined) return null;
  const semi = ct.indexOf(';');
  return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}

/** True for a JSON media type: `application/json`, `application/problem+json`, with parameters. */
export function isJsonType(contentType: string | string[] | undefined): boolean {
  const ct = Array.isArray(contentType) ? contentType[0] : contentType;
  if (ct?.startsWith('application/json') === true) return true;
  const type = mediaType(ct);
  return type !== null && (type === 'application/json' || type.endsWith('+json'));
}

/**
 * Whether a whole JSON answer is complete: an object's braces at both ends is enough (the common
 * case, checked on the bytes, as stream events are); anything else is parsed. A 200 whose body
 * was cut short by the upstream but framed as complete (its content-length matching the cut)
 * would otherwise reach the client as a success it cannot parse (found by the chaos suite,
 * docs/reliability.md). A cut that happens to end on an inner closing brace still passes.
 */
export function isCompleteJson(body: Buffer): boolean {
  let start = 0;
  let end = body.length - 1;
  while (start <= end && WS.has(body[start]!)) start++;
  while (end >= start && WS.has(body[end]!)) end--;
  if (start > end) return false;
  if (body[start] === 0x7b && body[end] === 0x7d) return true;
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function isIdentity(encoding: string | string[]): boolean {
  const v = Array.isArray(encoding) ? encoding.join(',') : encoding;
  return v.split(',').every((c) => {
    const t = c.trim().toLowerCase();
    return t === '' || t === 'identity';
  });
}

/**
 * Why a final response head rules out its answer, or null when it does not:
 *
 * - `204`, `205`, `304` carry no content, so no answer to an LLM call (RFC 9110 §15.3.5, §15.3.6,
 *   §15.4.5): the tier fails as a status would.
 * - A `content-encoding` other than identity: breakwater asks for `accept-encoding: identity`
 *   (it reads the events it relays), so an upstream that compresses anyway is misconfigured.
 *   Decoding it would put decompression, and its bombs, on the request path; the tier fails with
 *   the encoding named instead (docs/operations.md, "Hostile upstreams").
 * - A whole body announced larger than `maxBodyBytes` fails before a byte of it is read.
 */
export function headProblem(
  status: number,
  headers: UpstreamHeaders,
  framing: Framing | null,
  maxBodyBytes: number,
): CallFailure | null {
  if (status === 204 || status === 205 || status === 304) {
    return statusFailure(status);
  }
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && !isIdentity(encoding)) {
    const named = Array.isArray(encoding) ? encoding.join(', ') : encoding;
    const message = `content-encoding ${named.slice(0, 40)} although identity was asked for`;
    return callFailure(FailureKind.MALFORMED, message);
  }
  const length = headers['content-length'];
  if (framing === null && typeof length === 'string' && Number(length) > maxBodyBytes) {
    return callFailure(FailureKind.TOO_LARGE, bodyTooLarge(maxBodyBytes, `of ${length} bytes `));
  }
  return null;
}

/**
 * A whole (non-streamed) answer being gathered, capped at `limits.maxResponseBody`
 * (docs/operations.md, "Hostile upstreams"): bytes past the cap fail the tier at once, and a
 * success is checked when complete (UTF-8, and a JSON answer not cut short).
 */
export class WholeBody {
  readonly #max: number;
  #chunks: Buffer[];
  #size: number;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
    this.#chunks = [];
    this.#size = 0;
  }

  /** Takes the next chunk; the failure once the cap is passed, else null. */
  push(chunk: Buffer): CallFailure | null {
    this.#size += chunk.length;
    if (this.#size > this.#max) {
      this.#chunks = [];
      return callFailure(FailureKind.TOO_LARGE, bodyTooLarge(this.#max));
    }
    this.#chunks.push(chunk);
    return null;
  }

  /** The whole body, or the failure of a success that cannot be relayed as it is. */
  end(status: number, contentType: string | string[] | undefined): Buffer | CallFailure {
    const chunks = this.#chunks;
    this.#chunks = [];
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size);
    if (status >= 300) return body;
    if (!isUtf8(body)) {
      // RFC 8259 §8.1: JSON between systems is UTF-8; relayed as is, the client would read U+FFFD.
      return callFailure(FailureKind.MALFORMED, 'response body not valid UTF-8');
    }
    if (isJsonType(contentType) && !isCompleteJson(body)) {
      return callFailure(FailureKind.MALFORMED, 'JSON answer is incomplete or not JSON');
    }
    return body;
  }
}
