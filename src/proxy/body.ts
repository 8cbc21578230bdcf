import type { IncomingMessage } from 'node:http';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';

/** The body of an LLM call: its bytes (replayed on every tier) and the JSON object they hold. */
export interface LlmBody {
  readonly ok: true;
  readonly body: Buffer;
  readonly json: Record<string, unknown>;
}

/** A body that cannot be used; `close` asks to close the connection after the answer. */
export interface BadBody {
  readonly ok: false;
  readonly error: BreakwaterError;
  readonly close: boolean;
}

/** The client went away before its body arrived: nothing to answer, not an error. */
export const ABORTED = Symbol('aborted');

/**
 * The body step (docs/design.md#body): buffers the body up to `limitBytes` (by `Content-Length`
 * or as it arrives: `BW_ERR_BODY_TOO_LARGE`, connection closed) and parses it as a JSON object
 * (`BW_ERR_REQUEST_INVALID` otherwise).
 */
export async function readLlmBody(
  req: IncomingMessage,
  limitBytes: number,
): Promise<LlmBody | BadBody | typeof ABORTED> {
  const body = await readBody(req, limitBytes);
  if (body === ABORTED) return ABORTED;
  if (body === null) {
    req.resume();
    const error = new BreakwaterError(
      ErrorCode.BODY_TOO_LARGE,
      `request body larger than ${limitBytes} bytes`,
    );
    return { ok: false, error, close: true };
  }
  const json = parseJson(body);
  if (json === null) {
    const error = new BreakwaterError(ErrorCode.REQUEST_INVALID, 'request body must be a JSON object');
    return { ok: false, error, close: false };
  }
  return { ok: true, body, json };
}

/** Reads the body up to `limit` bytes; null when it is larger, ABORTED when the client left first. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null | typeof ABORTED> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > limit) {
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', () => resolve(ABORTED));
    req.on('close', () => {
      if (!req.complete) resolve(ABORTED);
    });
  });
}

/** The body as a JSON object, or null when it is empty, not JSON, or not an object. */
export function parseJson(body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return null;
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}
