import type { Protocol } from './endpoint.ts';

/**
 * Token usage as upstreams report it (README "Metrics", docs/operations.md#tokens): OpenAI's
 * `usage` object (`prompt_tokens`, `completion_tokens`) in a JSON answer or the last chunk of a
 * stream, Ollama's `prompt_eval_count` / `eval_count` in its answer or the stream's `done` record.
 *
 * These read only the few bytes they need: the last `"usage"` object, or the two counters, located
 * by a byte search in the answer's last {@link USAGE_TAIL_BYTES} and parsed alone, so a large
 * answer (an embedding) is never parsed, nor searched, whole. Absent, `null` or malformed usage is
 * `null` (counted as unknown by the caller), never a throw.
 */

/** Tokens of one answer; a side the upstream did not report is `null`. */
export interface TokenUsage {
  readonly prompt: number | null;
  readonly completion: number | null;
}

/** Largest `usage` object read, in bytes: real ones are under 300 (with the `*_details` objects). */
export const MAX_USAGE_BYTES = 4096;
/**
 * Bytes at the end of an answer searched for its usage: upstreams write `usage` and Ollama's counts
 * last (after the content, or in the stream's final record), so usage further back is not looked
 * for and the answer counts as unknown (docs/operations.md#tokens).
 */
export const USAGE_TAIL_BYTES = 8192;
/** Largest token count taken as real; anything above is malformed. */
const MAX_TOKENS = 1e9;

const USAGE_KEY = Buffer.from('"usage"');
const PROMPT_EVAL_KEY = Buffer.from('"prompt_eval_count"');
const EVAL_KEY = Buffer.from('"eval_count"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True for JSON whitespace and the `:` between a key and its value. */
function isGap(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0x3a;
}

/** Index of the value after a key ending at `from`, or -1. */
function valueStart(buf: Buffer, from: number): number {
  let i = from;
  while (i < buf.length && isGap(buf[i]!)) i++;
  return i < buf.length ? i : -1;
}

/** End (exclusive) of the balanced `{…}` starting at `start`, strings skipped; -1 when cut or too long. */
function objectEnd(buf: Buffer, start: number): number {
  let depth = 0;
  let inString = false;
  const stop = Math.min(buf.length, start + MAX_USAGE_BYTES);
  for (let i = start; i < stop; i++) {
    const b = buf[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === 0x7b) depth++;
    else if (b === 0x7d && --depth === 0) return i + 1;
  }
  return -1;
}

/** A count as reported: a non-negative integer within bounds, else null. */
function count(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TOKENS ? v : null;
}

function usageOf(prompt: number | null, completion: number | null): TokenUsage | null {
  return prompt === null && completion === null ? null : { prompt, completion };
}

/**
 * OpenAI `usage` of a JSON answer, of one SSE event's data, or of a run of SSE events (the last
 * `"usage"` wins: streams carry `"usage": null` on every chunk and the real one on the last).
 */
export function openAiUsage(bytes: Buffer): TokenUsage | null {
  const key = bytes.lastIndexOf(USAGE_KEY);
  if (key === -1) return null;
  const start = valueStart(bytes, key + USAGE_KEY.length);
  if (start === -1 || bytes[start] !== 0x7b) return null;
  const end = objectEnd(bytes, start);
  if (end === -1) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(bytes.toString('utf8', start, end));
  } catch {
    return null;
  }
  const u = obj as { prompt_tokens?: unknown; completion_tokens?: unknown };
  return usageOf(count(u.prompt_tokens), count(u.completion_tokens));
}

/** The integer after `key` (the last occurrence), or null. */
function counter(bytes: Buffer, key: Buffer): number | null {
  const at = bytes.lastIndexOf(key);
  if (at === -1) return null;
  const start = valueStart(bytes, at + key.length);
  if (start === -1) return null;
  let i = start;
  let n = 0;
  while (i < bytes.length && i - start < 10) {
    const b = bytes[i]!;
    if (b < 0x30 || b > 0x39) break;
    n = n * 10 + (b - 0x30);
    i++;
  }
  if (i === start) return null;
  const next = bytes[i];
  // `12.5`, `1e3`, or a number longer than ten digits: not a count.
  if (next !== undefined && next !== 0x2c && next !== 0x7d && !isGap(next)) return null;
  return count(n);
}

/**
 * Ollama's counts in an answer or the stream's last (`done`) record: `prompt_eval_count` (prompt)
 * and `eval_count` (completion; absent from embeddings). `"eval_count"` is not a suffix match of
 * `"prompt_eval_count"`: the opening quote is part of the key searched.
 */
export function ollamaUsage(bytes: Buffer): TokenUsage | null {
  return usageOf(counter(bytes, PROMPT_EVAL_KEY), counter(bytes, EVAL_KEY));
}

/**
 * The usage of an answer (or the tail of a stream) in `protocol`'s shape, from its last
 * {@link USAGE_TAIL_BYTES} only.
 */
export function answerUsage(protocol: Protocol, bytes: Buffer): TokenUsage | null {
  const tail = bytes.length > USAGE_TAIL_BYTES ? bytes.subarray(bytes.length - USAGE_TAIL_BYTES) : bytes;
  return protocol === 'ollama' ? ollamaUsage(tail) : openAiUsage(tail);
}
