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

/** The stream framing of a response by its content type, or null for a whole body. */
export function framingOf(contentType: string | string[] | undefined): Framing | null {
  const ct = Array.isArray(contentType) ? contentType[0] : contentType;
  if (ct === undefined) return null;
  if (ct.startsWith('text/event-stream')) return Framing.SSE;
  if (ct.startsWith('application/x-ndjson')) return Framing.NDJSON;
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
    const message = err.message.startsWith('connect ') ? err.message.slice(8) : `${code}: ${err.message}`;
    return { kind: FailureKind.CONNECT, message };
  }
  return { kind: FailureKind.RESET, message: `${code || 'error'}: ${err.message}` };
}
