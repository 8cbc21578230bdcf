import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVENT_TOO_LONG,
  EventSplitter,
  Framing,
  classifyEvent,
  fastScan,
  firstInvalidEvent,
  splitEvents,
} from '../../src/protocol/index.ts';

const LF = 0x0a;
const CR = 0x0d;

/** Streams that look like SSE / NDJSON, with the awkward parts: CR, comments, multi-byte text. */
const pieces = [
  'data: ',
  'data:',
  '{"a":1}',
  '{"error":{"message":"e"}}',
  '{"done":true}',
  '[DONE]',
  ': ping',
  'event: x',
  '\n',
  '\n\n',
  '\r\n',
  '\r\n\r\n',
  '\r',
  'é',
  '🙂',
  'x',
  ' ',
];
const streamLike = fc
  .array(fc.constantFrom(...pieces), { maxLength: 60 })
  .map((p) => Buffer.from(p.join('')));
const anyBytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const bytes = fc.oneof(streamLike, anyBytes);
const framing = fc.constantFrom(Framing.SSE, Framing.NDJSON);
const cuts = fc.array(fc.nat(), { maxLength: 12 });

/** `buf` cut at the given points (taken modulo its length). */
function chunksOf(buf: Buffer, points: readonly number[]): Buffer[] {
  const at = [...new Set(points.map((p) => (buf.length === 0 ? 0 : p % buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of at) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** Feeds `chunks` through a splitter: the slices it gave (the end rest last), or refused. */
function feed(f: Framing, chunks: readonly Buffer[], max: number): { slices: Buffer[]; refused: boolean } {
  const splitter = new EventSplitter(f, max);
  const slices: Buffer[] = [];
  for (const c of chunks) {
    const r = splitter.push(c);
    if (r === EVENT_TOO_LONG) return { slices, refused: true };
    if (r !== null) slices.push(r);
  }
  const rest = splitter.end();
  if (rest !== null) slices.push(rest);
  return { slices, refused: false };
}

const eventsOf = (f: Framing, slices: readonly Buffer[]): string[] =>
  slices.flatMap((s) => splitEvents(f, s.toString('utf8')));

/** The longest event of `buf` by the definition, computed on the whole buffer at once. */
function longestEvent(f: Framing, buf: Buffer): number {
  let start = 0;
  let longest = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== LF) continue;
    const ends =
      f === Framing.NDJSON ||
      buf[i - 1] === LF ||
      (buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR);
    if (!ends) continue;
    longest = Math.max(longest, i + 1 - start);
    start = i + 1;
  }
  return Math.max(longest, buf.length - start);
}

describe('EventSplitter (properties)', () => {
  it('gives the same bytes and events however the stream is cut', () => {
    fc.assert(
      fc.property(framing, bytes, cuts, (f, buf, points) => {
        const whole = feed(f, [buf], Infinity);
        const cut = feed(f, chunksOf(buf, points), Infinity);
        expect(Buffer.concat(cut.slices).equals(buf)).toBe(true);
        expect(eventsOf(f, cut.slices)).toEqual(eventsOf(f, whole.slices));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a stream exactly when one of its events is longer than the limit', () => {
    fc.assert(
      fc.property(framing, bytes, cuts, fc.integer({ min: 1, max: 64 }), (f, buf, points, max) => {
        const cut = feed(f, chunksOf(buf, points), max);
        expect(cut.refused).toBe(longestEvent(f, buf) > max);
        // What was relayed before a refusal is a whole-event prefix of the stream.
        const relayed = Buffer.concat(cut.slices);
        expect(buf.subarray(0, relayed.length).equals(relayed)).toBe(true);
        if (!cut.refused) expect(relayed.equals(buf)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never holds more than the limit while an event is incomplete', () => {
    fc.assert(
      fc.property(framing, fc.integer({ min: 1, max: 32 }), fc.integer({ min: 1, max: 20 }), (f, max, n) => {
        const splitter = new EventSplitter(f, max);
        let held = 0;
        for (let i = 0; i < n; i++) {
          const r = splitter.push(Buffer.from('abc'));
          if (r === EVENT_TOO_LONG) {
            expect(held + 3).toBeGreaterThan(max);
            return;
          }
          held += 3;
          expect(held).toBeLessThanOrEqual(max);
        }
      }),
    );
  });

  it('never throws on arbitrary bytes, through every reader of a slice', () => {
    fc.assert(
      fc.property(framing, anyBytes, cuts, fc.integer({ min: 1, max: 400 }), (f, buf, points, max) => {
        for (const slice of feed(f, chunksOf(buf, points), max).slices) {
          fastScan(f, slice);
          const bad = firstInvalidEvent(f, slice);
          expect(bad).toBeLessThan(slice.length);
          for (const e of splitEvents(f, slice.toString('utf8'))) classifyEvent(f, e);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('EventSplitter (examples)', () => {
  it('counts the line end of an event against the limit', () => {
    const ten = 'data: abc\n\n'; // 11 bytes with its blank line
    expect(feed(Framing.SSE, [Buffer.from(ten)], 11)).toMatchObject({ refused: false });
    expect(feed(Framing.SSE, [Buffer.from(ten)], 10)).toMatchObject({ refused: true });
    expect(feed(Framing.NDJSON, [Buffer.from('{"a":1}\n')], 8)).toMatchObject({ refused: false });
    expect(feed(Framing.NDJSON, [Buffer.from('{"a":1}\n')], 7)).toMatchObject({ refused: true });
  });

  it('finds a blank line that two chunks share', () => {
    const splitter = new EventSplitter(Framing.SSE, 100);
    expect(splitter.push(Buffer.from('data: a\r\n\r'))).toBeNull();
    expect(splitter.push(Buffer.from('\ndata: b\n'))?.toString()).toBe('data: a\r\n\r\n');
    expect(splitter.push(Buffer.from('\n'))?.toString()).toBe('data: b\n\n');
    expect(splitter.end()).toBeNull();
  });

  it('tells where the first event that is not UTF-8 starts', () => {
    const bad = Buffer.concat([
      Buffer.from('data: {"a":1}\n\ndata: "'),
      Buffer.from([0xff]),
      Buffer.from('"\n\n'),
    ]);
    expect(firstInvalidEvent(Framing.SSE, bad)).toBe('data: {"a":1}\n\n'.length);
    expect(firstInvalidEvent(Framing.SSE, Buffer.from('data: é\n\n'))).toBe(-1);
    expect(firstInvalidEvent(Framing.NDJSON, Buffer.from([0x7b, 0xc3, 0x7d]))).toBe(0);
  });
});
