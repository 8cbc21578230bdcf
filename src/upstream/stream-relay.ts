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

/**
 * Relays one upstream stream (SSE or NDJSON) to the client event by event
 * (docs/design.md#streaming-failures): keeps the unfinished tail of the last chunk, judges every
 * complete event (ordinary, end marker, in-band error, malformed), writes the good ones through
 * the client writer, and reports the first bad one as a failure. The first complete event is the
 * first token; SSE comments before it do not count. The tail is the home of a stream-line cap.
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

  constructor(
    framing: Framing,
    writer: ClientWriter,
    resumption: Resumption | null,
    maxLineBytes = Number.MAX_SAFE_INTEGER,
  ) {
    this.#framing = framing;
    this.#writer = writer;
    this.#resumption = resumption;
    this.#splitter = new EventSplitter(framing, maxLineBytes);
    this.#maxLineBytes = maxLineBytes;
    this.started = false;
    this.sawDone = false;
  }

  /** Takes the next chunk; returns the failure of a bad event, or null. */
  push(chunk: Buffer): CallFailure | null {
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
        if (fast.events > 0) this.#emit(slice);
        return null;
      }
    }
    const events = splitEvents(framing, slice.toString('utf8'));
    let bad = -1;
    let badFailure: CallFailure | null = null;
    for (let i = 0; i < events.length; i++) {
      const ev = classifyEvent(framing, events[i]!);
      if (ev.kind === EventKind.DONE) this.sawDone = true;
      else if (ev.kind === EventKind.ERROR || ev.kind === EventKind.MALFORMED) {
        bad = i;
        const kind = ev.kind === EventKind.ERROR ? FailureKind.IN_BAND : FailureKind.MALFORMED;
        badFailure = failure(kind, ev.message ?? 'stream error');
        break;
      }
    }
    this.#resumption?.track(framing, events, bad === -1 ? events.length : bad);
    if (badFailure === null) {
      // Comment-only slices (SSE keep-alives) do not commit the answer, but pass once it is.
      if (events.length > 0 || this.started) this.#emit(slice);
      return null;
    }
    // Good events before the bad one still reach the client, re-framed.
    if (bad > 0) this.#emit(Buffer.from(reframe(framing, events.slice(0, bad))));
    return badFailure;
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
