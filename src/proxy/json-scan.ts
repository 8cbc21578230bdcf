const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** `stringEnd` results when the string goes on past the chunk. */
const ENDS_PLAIN = -1;
const ENDS_ESCAPED = -2;

/** Bytes of a string walked in JS before `indexOf` takes over: a native call costs more for keys. */
const SHORT_STRING = 32;

/**
 * Index of the quote that closes a string whose bytes start at `from` (the opening quote is
 * behind), or ENDS_PLAIN / ENDS_ESCAPED when the chunk ends inside it (ESCAPED: on a backslash
 * that escapes the next chunk's first byte). `escaped`: the previous chunk ended that way. Short
 * strings (keys, roles) are walked byte by byte; long ones (prompts) are searched natively
 * (memchr): a quote closes the string unless an odd run of backslashes stands right before it.
 */
function stringEnd(chunk: Uint8Array, from: number, escaped: boolean): number {
  let at = from;
  const stop = Math.min(chunk.length, from + SHORT_STRING);
  for (; at < stop; at++) {
    const c = chunk[at]!;
    if (escaped) escaped = false;
    else if (c === BACKSLASH) escaped = true;
    else if (c === QUOTE) return at;
  }
  if (escaped) {
    if (at >= chunk.length) return ENDS_ESCAPED;
    at++;
  }
  if (at >= chunk.length) return ENDS_PLAIN;
  for (;;) {
    const q = chunk.indexOf(QUOTE, at);
    if (q === -1) return backslashRunIsOdd(chunk, chunk.length, at) ? ENDS_ESCAPED : ENDS_PLAIN;
    if (!backslashRunIsOdd(chunk, q, at)) return q;
    at = q + 1;
  }
}

/** True when the backslashes right before `end` (not before `start`) are an odd number. */
function backslashRunIsOdd(chunk: Uint8Array, end: number, start: number): boolean {
  let n = 0;
  for (let j = end - 1; j >= start && chunk[j] === BACKSLASH; j--) n++;
  return (n & 1) === 1;
}

/** Which limit a JSON text went over. */
export const JsonLimit = { DEPTH: 'depth', MEMBERS: 'members' } as const;
export type JsonLimit = (typeof JsonLimit)[keyof typeof JsonLimit];

/**
 * Counts the nesting depth and the members (object keys plus array items) of a JSON text as its
 * bytes arrive, chunk by chunk, so that a hostile body is refused before it is whole and before
 * `JSON.parse` — which holds the event loop for the whole text at once (1 M keys in 8 MiB:
 * 0.75 s) — ever sees it. Work per chunk is one pass over its bytes. It does not validate:
 * `JSON.parse` still does, on what passed. UTF-8 continuation bytes are ≥ 0x80, so they never
 * look like the ASCII structure bytes it counts.
 */
export class JsonScanner {
  readonly #maxDepth: number;
  readonly #maxMembers: number;
  #depth = 0;
  #members = 0;
  #inString = false;
  #escaped = false;
  /** A container just opened: its first non-space byte says whether it holds a member. */
  #opened = false;

  /** `maxDepth` (≥ 1) and `maxMembers` (≥ 1) are `limits.maxJsonDepth` and `limits.maxJsonMembers`. */
  constructor(maxDepth: number, maxMembers: number) {
    this.#maxDepth = maxDepth;
    this.#maxMembers = maxMembers;
  }

  /** Members counted so far. */
  get members(): number {
    return this.#members;
  }

  /** Scans the next chunk; returns the limit it went over, or null while within both. */
  push(chunk: Uint8Array): JsonLimit | null {
    let depth = this.#depth;
    let members = this.#members;
    let inString = this.#inString;
    let escaped = this.#escaped;
    let opened = this.#opened;
    let over: JsonLimit | null = null;
    for (let i = 0; i < chunk.length; i++) {
      if (inString) {
        // Strings are most of an LLM body's bytes: find their end natively (memchr), not byte by byte.
        const end = stringEnd(chunk, i, escaped);
        if (end < 0) {
          escaped = end === ENDS_ESCAPED;
          break;
        }
        inString = false;
        escaped = false;
        i = end;
        continue;
      }
      const c = chunk[i]!;
      if (isSpace(c)) continue;
      if (opened) {
        opened = false;
        // A container holds n members when it has n - 1 commas: count its first one here.
        if (c !== CLOSE_ARRAY && c !== CLOSE_OBJECT) members++;
      }
      if (c === QUOTE) inString = true;
      else if (c === COMMA) members++;
      else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        opened = true;
        if (++depth > this.#maxDepth) {
          over = JsonLimit.DEPTH;
          break;
        }
      } else if ((c === CLOSE_ARRAY || c === CLOSE_OBJECT) && depth > 0) depth--;
      if (members > this.#maxMembers) {
        over = JsonLimit.MEMBERS;
        break;
      }
    }
    this.#depth = depth;
    this.#members = members;
    this.#inString = inString;
    this.#escaped = escaped;
    this.#opened = opened;
    return over;
  }
}
