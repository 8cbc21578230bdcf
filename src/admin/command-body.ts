import type { IncomingMessage } from 'node:http';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';

/** Largest control-call body read, bytes: `{"by": …, "reason": …}` fits many times over. */
const MAX_BODY_BYTES = 4096;
/** Longest `by` or `reason` kept, characters. */
const MAX_TEXT_CHARS = 200;

/**
 * The text fields `keys` of a control call's JSON body (`{"reason": "..."}`, `{"by", "reason"}`):
 * null for an empty body or a field absent, null or empty. Refuses a body over 4 KiB
 * (`BW_ERR_BODY_TOO_LARGE`), one that is not JSON, and a field that is not a string of at most
 * 200 characters (`BW_ERR_REQUEST_INVALID`).
 */
export async function readCommandBody<K extends string>(
  req: IncomingMessage,
  keys: readonly K[],
): Promise<Record<K, string | null>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new BreakwaterError(ErrorCode.BODY_TOO_LARGE, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  let parsed: unknown = {};
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      const shape = keys.map((k) => `"${k}": "..."`).join(', ');
      throw new BreakwaterError(ErrorCode.REQUEST_INVALID, `body must be JSON: {${shape}}`);
    }
  }
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const out = {} as Record<K, string | null>;
  for (const k of keys) out[k] = textField(o, k);
  return out;
}

function textField(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > MAX_TEXT_CHARS) {
    const message = `${key}: expected a string of at most ${MAX_TEXT_CHARS} characters`;
    throw new BreakwaterError(ErrorCode.REQUEST_INVALID, message);
  }
  return v;
}
