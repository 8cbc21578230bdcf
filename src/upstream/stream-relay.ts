import { FailureKind } from '../breaker/index.ts';
import { isUtf8 } from 'node:buffer';
import {
  EVENT_TOO_LONG,
  EventKind,
  EventSplitter,
  Framing,
  classifyEvent,
  fastScan,
  firstInvalidEvent,
  splitEvents,
} from '../protocol/index.ts';
import type { CallFailure } from './failure.ts';
import type { ClientWriter } from './client-writer.ts';
import type { Resumption } from './resumption.ts';
import { streamUsage, type SecondsObserver, type TokenReading } from './tokens.ts';

/**
 * Relays one upstream stream (SSE or NDJSON) to the client event by event
 * (docs/design.md#streaming-failures): keeps the unfinished tail of the last chunk, judges every
 * complete event (ordinary, end marker, in-band error, malformed), writes the good ones through
 * the client writer, and reports the first bad one as a failure. The first complete event is the
 * first token; SSE comments before it do not count. The tail is the home of a stream-line cap.
 *
 * Seeing every event, the relay also counts them, times the gaps between reads that carry events
 * (inter-token latency) and keeps the last two event-carrying slices by reference, where a
 * stream's usage is (docs/operations.md#tokens).
 */
export class StreamRelay {
  readonly #framing: Framing;
  readonly #writer: ClientWriter;
  /** Tracks the assistant text for `continueOnNextTier`, or null when this call does not. */
  readonly #resumption: Resumption | null;
  /** Splits complete events off the bytes, in linear time, up to `limits.maxStreamLine` each. */
  #splitter: EventSplitter;
  readonly #maxLineBytes: number;
  /** A first event reached the client through this relay. */
  started: boolean;
  /** The end marker (`[DONE]`, `done: true`) went by. */
  sawDone: boolean;
  /** Events relayed, end marker excluded. */
  events: number;
  /** ms (the caller's clock) of the last read that carried events; -1 before the first. */
  lastEventAtMs: number;
  /** The tier's inter-token histogram, or null. */
  readonly #interToken: SecondsObserver | null;
  #nowMs: number;
  /** The last two slices that carried events: where a stream's final usage is. */
  #tail: Buffer | null;
  #prevTail: Buffer | null;

  constructor(
    framing: Framing,
    writer: ClientWriter,
    resumption: Resumption | null,
    maxLineBytes = Number.MAX_SAFE_INTEGER,
    interToken: SecondsObserver | null = null,
  ) {
    this.#framing = framing;
    this.#writer = writer;
    this.#resumption = resumption;
    this.#splitter = new EventSplitter(framing, maxLineBytes);
    this.#maxLineBytes = maxLineBytes;
    this.started = false;
    this.sawDone = false;
    this.events = 0;
    this.lastEventAtMs = -1;
    this.#interToken = interToken;
    this.#nowMs = 0;
    this.#tail = null;
    this.#prevTail = null;
  }

  /** Takes the next chunk, read at `nowMs`; returns the failure of a bad event, or null. */
  push(chunk: Buffer, nowMs = 0): CallFailure | null {
    this.#nowMs = nowMs;
    const events = this.#splitter.push(chunk);
    if (events === null) return null;
    if (events === EVENT_TOO_LONG) {
      const message = `stream line over limits.maxStreamLine (${this.#maxLineBytes} bytes)`;
      return failure(FailureKind.TOO_LARGE, message);
    }
    return this.#forward(events);
  }

  /** The upstream ended: a last event without its terminator still counts; then judges the end. */
  end(): CallFailure | null {
    const rest = this.#splitter.end();
    if (rest !== null) {
      const bad = this.#forward(rest);
      if (bad !== null) return bad;
    }
    if (!this.started) return failure(FailureKind.MALFORMED, 'stream ended before its first event');
    if (!this.sawDone) return failure(FailureKind.RESET, 'stream ended without its end marker');
    return null;
  }

  /** Classifies complete events and writes the good ones (the first one commits the answer). */
  #forward(slice: Buffer): CallFailure | null {
    const framing = this.#framing;
    if (!isUtf8(slice)) {
      // The events before the bad one are relayed as usual, then the stream fails.
      const bad = firstInvalidEvent(framing, slice);
      const before = bad > 0 ? this.#forward(slice.subarray(0, bad)) : null;
      return before ?? failure(FailureKind.MALFORMED, 'malformed event: not valid UTF-8');
    }
    if (this.#resumption === null) {
      // Ordinary events are judged on the bytes: decoding and splitting every event of a 20-event
      // stream cost more CPU than the rest of the relay.
      const fast = fastScan(framing, slice);
      if (fast !== null) {
        if (fast.sawDone) this.sawDone = true;
        if (fast.events > 0) {
          this.#count(fast.sawDone ? fast.events - 1 : fast.events, slice);
          this.#emit(slice);
        }
        return null;
      }
    }
    const events = splitEvents(framing, slice.toString('utf8'));
    let bad = -1;
    let badFailure: CallFailure | null = null;
    let markers = 0;
    for (let i = 0; i < events.length; i++) {
      const ev = classifyEvent(framing, events[i]!);
      if (ev.kind === EventKind.DONE) {
        this.sawDone = true;
        markers++;
      } else if (ev.kind === EventKind.ERROR || ev.kind === EventKind.MALFORMED) {
        bad = i;
        const kind = ev.kind === EventKind.ERROR ? FailureKind.IN_BAND : FailureKind.MALFORMED;
        badFailure = failure(kind, ev.message ?? 'stream error');
        break;
      }
    }
    this.#resumption?.track(framing, events, bad === -1 ? events.length : bad);
    if (badFailure === null) {
      // Comment-only slices (SSE keep-alives) do not commit the answer, but pass once it is.
      if (events.length > 0) this.#count(events.length - markers, slice);
      if (events.length > 0 || this.started) this.#emit(slice);
      return null;
    }
    // Good events before the bad one still reach the client, re-framed.
    if (bad > 0) this.#emit(Buffer.from(reframe(framing, events.slice(0, bad))));
    return badFailure;
  }

  /**
   * What the stream told of its tokens once it ended well: reported usage from its last slices
   * (bounded), the events, and the time from its first token (`firstTokenAtMs`) to its last event.
   */
  tokens(firstTokenAtMs: number): TokenReading {
    const usage = streamUsage(this.#framing, this.#tail, this.#prevTail);
    this.#tail = this.#prevTail = null;
    const outputMs = this.lastEventAtMs >= 0 ? this.lastEventAtMs - firstTokenAtMs : -1;
    return { usage, events: this.events, outputMs };
  }

  /**
   * Notes `n` events read now in `slice` (kept even for the end marker alone: Ollama's `done`
   * record carries the counts). The gap since the previous read with events goes to the
   * inter-token histogram; the first event's wait is the first-token time, measured apart.
   */
  #count(n: number, slice: Buffer): void {
    this.#prevTail = this.#tail;
    this.#tail = slice;
    if (n <= 0) return;
    const now = this.#nowMs;
    if (this.lastEventAtMs >= 0) this.#interToken?.observe((now - this.lastEventAtMs) / 1000);
    this.lastEventAtMs = now;
    this.events += n;
  }

  #emit(bytes: Buffer): void {
    this.started = true;
    this.#writer.write(bytes);
  }
}

function failure(kind: CallFailure['kind'], message: string): CallFailure {
  return { kind, message, status: null };
}

function reframe(framing: Framing, events: readonly string[]): string {
  return framing === Framing.SSE ? events.map((e) => `data: ${e}\n\n`).join('') : events.join('\n') + '\n';
}
