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
