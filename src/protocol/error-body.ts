import { errorMessageOf } from './event.ts';
import { Protocol } from './endpoint.ts';
import { Framing } from './framing.ts';

/**
 * OpenAI error `type` for a status, as the OpenAI API uses them: the four 4xx with a type of
 * their own, every other 4xx (400, 405, 408, 413, 415, 417, 422, 431) the client's request, and
 * 5xx the server.
 */
function openaiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 400 && status < 500 ? 'invalid_request_error' : 'server_error';
}

/**
 * The JSON error body of `protocol`: OpenAI `{"error": {message, type, param, code}}`,
 * Ollama `{"error": "message"}`.
 */
export function errorBody(protocol: Protocol, status: number, message: string, code: string | null): string {
  if (protocol === Protocol.OLLAMA) return JSON.stringify({ error: message });
  return JSON.stringify({ error: { message, type: openaiType(status), param: null, code } });
}

/** The final error event that ends a cut stream: never a clean-looking end. */
export function errorEvent(framing: Framing, protocol: Protocol, message: string, code: string): string {
  const body = errorBody(protocol, 502, message, code);
  return framing === Framing.SSE ? `data: ${body}\n\n` : `${body}\n`;
}

/**
 * Rewrites an upstream error body into `protocol`'s shape, whatever shape the upstream used
 * (OpenAI object, Ollama string, FastAPI `detail`, plain text). Returns null when `raw` already
 * has the right shape, so the caller forwards the bytes untouched.
 */
export function normalizeErrorBody(protocol: Protocol, status: number, raw: Buffer): string | null {
  let parsed: unknown;
  const text = raw.toString('utf8');
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const obj = parsed as Record<string, unknown>;
    const err = obj.error;
    if (protocol === Protocol.OPENAI && typeof err === 'object' && err !== null) return null;
    if (protocol === Protocol.OLLAMA && typeof err === 'string') return null;
    if (err !== undefined && err !== null) return errorBody(protocol, status, errorMessageOf(err), null);
    if (obj.detail !== undefined) return errorBody(protocol, status, errorMessageOf(obj.detail), null);
    if (typeof obj.message === 'string') return errorBody(protocol, status, obj.message, null);
  }
  const message = text.trim() === '' ? `upstream answered HTTP ${status}` : text.trim().slice(0, 500);
  return errorBody(protocol, status, message, null);
}
