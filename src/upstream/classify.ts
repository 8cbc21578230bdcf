import { FailureKind, type Failure } from '../breaker/index.ts';
import { Framing } from '../protocol/index.ts';

/**
 * The assistant text one streamed event adds ('' for none), or null when the event carries a tool
 * call: a cut tool call is never resumed (SPEC §4).
 */
export function assistantPiece(framing: Framing, event: unknown): string | null {
  if (typeof event !== 'object' || event === null) return '';
  if (framing === Framing.NDJSON) {
    const m = (event as { message?: { content?: unknown; tool_calls?: unknown } }).message;
    if (m?.tool_calls !== undefined) return null;
    return typeof m?.content === 'string' ? m.content : '';
  }
  const d = (event as { choices?: { delta?: { content?: unknown; tool_calls?: unknown } }[] }).choices?.[0]
    ?.delta;
  if (d?.tool_calls !== undefined && d.tool_calls !== null) return null;
  return typeof d?.content === 'string' ? d.content : '';
}

/**
 * The stream framing of a response by its media type, or null for a whole body. The type is
 * compared without its parameters and case (RFC 9110 §8.3.1): `Text/Event-Stream; charset=utf-8`
 * is SSE, `text/event-streamx` is not.
 */
export function framingOf(contentType: string | string[] | undefined): Framing | null {
  const ct = Array.isArray(contentType) ? contentType[0] : contentType;
  if (ct === undefined) return null;
  const semi = ct.indexOf(';');
  const type = (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  if (type === 'text/event-stream') return Framing.SSE;
  if (type === 'application/x-ndjson') return Framing.NDJSON;
  return null;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** True for a JSON media type: `application/json`, `application/problem+json`, with parameters. */
export function isJsonType(contentType: string | string[] | undefined): boolean {
  const ct = Array.isArray(contentType) ? contentType[0] : contentType;
  if (ct === undefined) return false;
  if (ct.startsWith('application/json')) return true;
  const semi = ct.indexOf(';');
  const type = (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
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

/** The breaker failure of a transport error: connect (never reached the server) or reset. */
export function classifyError(err: Error): Failure {
  const code = (err as { code?: string }).code ?? '';
  if (
    code === 'ECONNREFUSED' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH'
  ) {
    // `connect ECONNREFUSED 10.0.0.7:8000` → `ECONNREFUSED 10.0.0.7:8000`: the kind already says connect.
    const message = err.message.startsWith('connect ')
      ? err.message.slice(8) || code
      : `${code}: ${err.message}`;
    return { kind: FailureKind.CONNECT, message };
  }
  return { kind: FailureKind.RESET, message: `${code || 'error'}: ${err.message}` };
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
  headers: Record<string, string | string[] | undefined>,
  framing: Framing | null,
  maxBodyBytes: number,
): Failure | null {
  if (status === 204 || status === 205 || status === 304) {
    return { kind: FailureKind.STATUS, message: `HTTP ${status}` };
  }
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && !isIdentity(encoding)) {
    const named = Array.isArray(encoding) ? encoding.join(', ') : encoding;
    return {
      kind: FailureKind.MALFORMED,
      message: `content-encoding ${named.slice(0, 40)} although identity was asked for`,
    };
  }
  const length = headers['content-length'];
  if (framing === null && typeof length === 'string' && Number(length) > maxBodyBytes) {
    return { kind: FailureKind.TOO_LARGE, message: bodyTooLarge(maxBodyBytes, `of ${length} bytes `) };
  }
  return null;
}

function isIdentity(encoding: string | string[]): boolean {
  const v = Array.isArray(encoding) ? encoding.join(',') : encoding;
  return v.split(',').every((c) => {
    const t = c.trim().toLowerCase();
    return t === '' || t === 'identity';
  });
}

/** `response body over limits.maxResponseBody (33554432 bytes)`. */
export function bodyTooLarge(maxBodyBytes: number, size = ''): string {
  return `response body ${size}over limits.maxResponseBody (${maxBodyBytes} bytes)`;
}
