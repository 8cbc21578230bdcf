import { isUtf8 } from 'node:buffer';

/**
 * Incremental splitting of streamed bodies into whole events: SSE events end with a blank line
 * (`\n\n`, or `\r\n\r\n`), NDJSON records with `\n`. Chunks may cut an event anywhere; the
 * splitter keeps the remainder. Works on Buffers to avoid decoding bytes it only forwards.
 */
export const Framing = { SSE: 'sse', NDJSON: 'ndjson' } as const;
export type Framing = (typeof Framing)[keyof typeof Framing];

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

const LF = 0x0a;
const CR = 0x0d;

/** What {@link EventSplitter.push} returns when an event grew past its limit. */
export const EVENT_TOO_LONG: unique symbol = Symbol('event too long');

/**
 * Splits a streamed body into whole events as its chunks arrive, in time linear in the bytes: each
 * byte is scanned for a boundary once, and an event cut across chunks is joined once, when its end
 * arrives (re-scanning and re-joining the whole remainder on every chunk made a 50 MiB line cost
 * 15.7 s of event-loop time). An event — its bytes up to and including its terminating blank line
 * (SSE) or newline (NDJSON), or the unterminated rest at the end of the stream — may span at most
 * `maxEventBytes`; a longer one is refused as soon as it is known to be longer, so no more than
 * `maxEventBytes` are ever held.
 */
export class EventSplitter {
  readonly #framing: Framing;
  readonly #maxEventBytes: number;
  /** Chunks of the incomplete event so far, or null. */
  #parts: Buffer[] | null;
  #partBytes: number;
  /** The last three bytes seen (-1 before any), for a boundary that straddles two chunks. */
  #b1: number;
  #b2: number;
  #b3: number;

  constructor(framing: Framing, maxEventBytes: number) {
    this.#framing = framing;
    this.#maxEventBytes = maxEventBytes;
    this.#parts = null;
    this.#partBytes = 0;
    this.#b1 = this.#b2 = this.#b3 = -1;
  }

  /**
   * Adds one chunk. Returns the bytes of the events it completes (from the start of the first
   * incomplete one up to the last boundary in `chunk`), null when none is complete yet, or
   * {@link EVENT_TOO_LONG}.
   */
  push(chunk: Buffer): Buffer | null | typeof EVENT_TOO_LONG {
    const max = this.#maxEventBytes;
    let start = -this.#partBytes;
    let last = 0;
    let pos = chunk.indexOf(LF);
    while (pos !== -1) {
      if (this.#framing === Framing.NDJSON || this.#endsEvent(chunk, pos)) {
        if (pos + 1 - start > max) return EVENT_TOO_LONG;
        start = last = pos + 1;
      }
      pos = chunk.indexOf(LF, pos + 1);
    }
    if (chunk.length - start > max) return EVENT_TOO_LONG;
    this.#remember(chunk);
    if (last === 0) {
      if (chunk.length > 0) {
        (this.#parts ??= []).push(chunk);
        this.#partBytes += chunk.length;
      }
      return null;
    }
    const head = chunk.subarray(0, last);
    const parts = this.#parts;
    this.#parts = last === chunk.length ? null : [chunk.subarray(last)];
    this.#partBytes = chunk.length - last;
    if (parts === null) return head;
    parts.push(head);
    return Buffer.concat(parts);
  }

  /** The unterminated rest at the end of the stream, or null when there is none. */
  end(): Buffer | null {
    const parts = this.#parts;
    this.#parts = null;
    this.#partBytes = 0;
    if (parts === null) return null;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Does the LF at `chunk[i]` end an SSE event (`\n\n`, or `\r\n\r\n`)? */
  #endsEvent(chunk: Buffer, i: number): boolean {
    const p1 = this.#byteAt(chunk, i - 1);
    if (p1 === LF) return true;
    return p1 === CR && this.#byteAt(chunk, i - 2) === LF && this.#byteAt(chunk, i - 3) === CR;
  }

  /** `chunk[i]`, or for i < 0 one of the last bytes of earlier chunks. */
  #byteAt(chunk: Buffer, i: number): number {
    if (i >= 0) return chunk[i]!;
    return i === -1 ? this.#b1 : i === -2 ? this.#b2 : this.#b3;
  }

  #remember(chunk: Buffer): void {
    const n = chunk.length;
    if (n >= 3) {
      this.#b3 = chunk[n - 3]!;
      this.#b2 = chunk[n - 2]!;
      this.#b1 = chunk[n - 1]!;
    } else if (n === 2) {
      this.#b3 = this.#b1;
      this.#b2 = chunk[0]!;
      this.#b1 = chunk[1]!;
    } else if (n === 1) {
      this.#b3 = this.#b2;
      this.#b2 = this.#b1;
      this.#b1 = chunk[0]!;
    }
  }
}

/**
 * Where the first event of `slice` (whole events, as {@link EventSplitter.push} gives them) that is
 * not valid UTF-8 starts, or -1 when every event is. For a slice that failed `isUtf8` as a whole:
 * the events before the bad one are still good.
 */
export function firstInvalidEvent(framing: Framing, slice: Buffer): number {
  let start = 0;
  let pos = slice.indexOf(LF);
  while (pos !== -1) {
    const ends =
      framing === Framing.NDJSON ||
      slice[pos - 1] === LF ||
      (slice[pos - 1] === CR && slice[pos - 2] === LF && slice[pos - 3] === CR);
    if (ends) {
      if (!isUtf8(slice.subarray(start, pos + 1))) return start;
      start = pos + 1;
    }
    pos = slice.indexOf(LF, pos + 1);
  }
  return start < slice.length && !isUtf8(slice.subarray(start)) ? start : -1;
}

/** Finds the end (exclusive) of the last complete event in `buf`, or 0 when there is none. */
export function lastBoundary(framing: Framing, buf: Buffer): number {
  if (framing === Framing.NDJSON) {
    const i = buf.lastIndexOf(LF);
    return i + 1;
  }
  for (let i = buf.length - 1; i > 0; i--) {
    if (buf[i] !== LF) continue;
    if (buf[i - 1] === LF) return i + 1;
    if (buf[i - 1] === CR && i >= 3 && buf[i - 2] === LF && buf[i - 3] === CR) return i + 1;
  }
  return 0;
}

/**
 * Splits `text` (complete events only) into the events' payloads: for SSE the joined `data:`
 * field values of each event (events without data are skipped), for NDJSON each non-empty line.
 */
export function splitEvents(framing: Framing, text: string): string[] {
  const out: string[] = [];
  if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
  if (framing === Framing.NDJSON) {
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      const line = text.slice(start, end).trim();
      if (line !== '') out.push(line);
      start = end + 1;
    }
    return out;
  }
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n\n', start);
    if (end === -1) end = text.length;
    const data = dataOf(text, start, end);
    if (data !== null) out.push(data);
    start = end + 2;
  }
  return out;
}

/** The joined `data:` values of the SSE event in `text[start, end)`, or null when it has none. */
function dataOf(text: string, start: number, end: number): string | null {
  let data: string | null = null;
  let pos = start;
  while (pos < end) {
    let eol = text.indexOf('\n', pos);
    if (eol === -1 || eol > end) eol = end;
    if (text.startsWith('data:', pos)) {
      const from = text.charCodeAt(pos + 5) === 0x20 ? pos + 6 : pos + 5;
      const v = text.slice(from, eol);
      data = data === null ? v : data + '\n' + v;
    }
    pos = eol + 1;
  }
  return data;
}

const DATA_PREFIX = Buffer.from('data: ');
const DONE_PAYLOAD = Buffer.from('[DONE]');
const ERROR_KEY = Buffer.from('"error"');
const DONE_TRUE = Buffer.from('"done":true');
const OPEN = 0x7b;
const CLOSE = 0x7d;

/** What the fast scan learned: every event is an ordinary one, and whether the end marker came. */
export interface FastScan {
  readonly events: number;
  readonly sawDone: boolean;
}

/**
 * Checks complete events straight on the bytes, without decoding or splitting them, for the
 * common shape: SSE `data: {…}\n\n` / `data: [DONE]\n\n`, NDJSON `{…}\n`. Returns null when the
 * slice needs the full reading (`splitEvents` + `classifyEvent`): anything that may be an error
 * event or an NDJSON end record, comments, CR line ends, multi-line events, or a payload that is
 * not an object. Decoding and splitting every 20-event stream cost more CPU than the rest of the
 * stream relay.
 */
export function fastScan(framing: Framing, buf: Buffer): FastScan | null {
  if (buf.indexOf(ERROR_KEY) !== -1) return null;
  if (framing === Framing.NDJSON) {
    if (buf.indexOf(DONE_TRUE) !== -1) return null;
    let pos = 0;
    let events = 0;
    while (pos < buf.length) {
      const eol = buf.indexOf(LF, pos);
      if (eol === -1) return null;
      if (eol > pos) {
        if (buf[pos] !== OPEN || buf[eol - 1] !== CLOSE) return null;
        events++;
      }
      pos = eol + 1;
    }
    return { events, sawDone: false };
  }
  let pos = 0;
  let events = 0;
  let sawDone = false;
  while (pos < buf.length) {
    const eol = buf.indexOf(LF, pos);
    if (eol === -1 || buf[eol + 1] !== LF) return null;
    if (buf.compare(DATA_PREFIX, 0, DATA_PREFIX.length, pos, pos + DATA_PREFIX.length) !== 0) return null;
    const start = pos + DATA_PREFIX.length;
    if (buf[start] === OPEN && buf[eol - 1] === CLOSE) {
      // an ordinary event
    } else if (
      eol - start === DONE_PAYLOAD.length &&
      buf.compare(DONE_PAYLOAD, 0, DONE_PAYLOAD.length, start, eol) === 0
    ) {
      sawDone = true;
    } else {
      return null;
    }
    events++;
    pos = eol + 2;
  }
  return { events, sawDone };
}
