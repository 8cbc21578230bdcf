import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';

/**
 * The error dialect of a route. MAX answers OpenAI-shaped errors with a string `code` and `param: ""`
 * (its FastAPI handler for HTTPException); Ollama's OpenAI layer uses `param: null, code: null`;
 * Ollama's native API uses `{"error": "message"}`.
 */
export const WireStyle = {
  MAX: 'max',
  OLLAMA_OPENAI: 'ollama-openai',
  OLLAMA_NATIVE: 'ollama-native',
} as const;
export type WireStyle = (typeof WireStyle)[keyof typeof WireStyle];

/** A whole (non-stream) response. */
export interface JsonReply {
  readonly stream: false;
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Extra headers (e.g. `retry-after`), or null. */
  readonly headers: OutgoingHttpHeaders | null;
}

/** A stream response: framed events (`data: …\n\n` or `…\n`) sent after `200` headers. */
export interface StreamReply {
  readonly stream: true;
  readonly headers: OutgoingHttpHeaders;
  readonly events: readonly string[];
}

/** What a route answers, before any fault shapes it. */
export type Reply = JsonReply | StreamReply;

/** Content type of OpenAI-compatible JSON bodies. */
export const JSON_TYPE = 'application/json';
/** Ollama's native non-stream content type (gin's `c.JSON`). */
export const OLLAMA_JSON_TYPE = 'application/json; charset=utf-8';
/** Content type of plain-text bodies (`Ollama is running`, gin's 404). */
export const TEXT_TYPE = 'text/plain; charset=utf-8';

/** Stream headers per style: MAX uses sse-starlette, Ollama's OpenAI layer plain SSE, native NDJSON. */
export const STREAM_HEADERS: Readonly<Record<WireStyle, OutgoingHttpHeaders>> = {
  max: {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  },
  'ollama-openai': { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
  'ollama-native': { 'content-type': 'application/x-ndjson' },
};

const MAX_ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

function maxErrorType(status: number): string {
  return MAX_ERROR_TYPES[status] ?? (status < 500 ? 'invalid_request_error' : 'api_error');
}

function ollamaErrorType(status: number): string {
  return status === 400 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'api_error';
}

/** The error body a real server of this style sends for `status`. */
export function errorBody(style: WireStyle, status: number, message: string): string {
  const m = JSON.stringify(message);
  switch (style) {
    case WireStyle.MAX:
      return `{"error":{"code":"${status}","message":${m},"param":"","type":"${maxErrorType(status)}"}}`;
    case WireStyle.OLLAMA_OPENAI:
      return `{"error":{"message":${m},"type":"${ollamaErrorType(status)}","param":null,"code":null}}`;
    case WireStyle.OLLAMA_NATIVE:
      return `{"error":${m}}`;
  }
}

/** A whole error response in the style's shape (MAX adds `retry-after: 1` to 429, as it does). */
export function errorReply(style: WireStyle, status: number, message: string): JsonReply {
  return {
    stream: false,
    status,
    contentType: style === WireStyle.OLLAMA_NATIVE ? OLLAMA_JSON_TYPE : JSON_TYPE,
    body: errorBody(style, status, message),
    headers: style === WireStyle.MAX && status === 429 ? { 'retry-after': '1' } : null,
  };
}

/** The message of an injected status: the reason phrase, marked as injected. */
export function faultMessage(status: number): string {
  return `${STATUS_CODES[status] ?? 'Error'} (mock fault)`;
}

/** A whole response with no extra headers; an empty `contentType` sends none. */
export function jsonReply(status: number, body: string, contentType: string = JSON_TYPE): JsonReply {
  return { stream: false, status, contentType, body, headers: null };
}

const IN_BAND_MESSAGE = 'generation failed (mock fault)';

/**
 * The in-band error event as each server streams it after `200` headers: MAX yields an
 * `ErrorResponse` with `code: "500"` and empty `type` (openai_routes.py stream()); Ollama's native
 * stream writes an `{"error": …}` line (routes.go streamResponse).
 */
export const IN_BAND_EVENT: Readonly<Record<WireStyle, string>> = {
  max: `data: {"error":{"code":"500","message":"${IN_BAND_MESSAGE}","param":"","type":""}}\n\n`,
  'ollama-openai': `data: {"error":{"message":"${IN_BAND_MESSAGE}","type":"api_error","param":null,"code":null}}\n\n`,
  'ollama-native': `{"error":"${IN_BAND_MESSAGE}"}\n`,
};

/** The non-stream form of the in-band error: 500 with the error body. */
export function inBandReply(style: WireStyle): JsonReply {
  return errorReply(style, 500, IN_BAND_MESSAGE);
}

/** A framed event whose payload is cut off mid-object: not valid JSON. */
export const MALFORMED_EVENT: Readonly<Record<WireStyle, string>> = {
  max: 'data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\n\n',
  'ollama-openai':
    'data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","choices":[{"delta":{"con\n\n',
  'ollama-native':
    '{"model":"mock","created_at":"1970-01-01T00:00:00Z","message":{"role":"assistant","cont\n',
};
