import {
  EVENT_TOO_LONG,
  EventKind,
  EventSplitter,
  Framing,
  classifyEvent,
  splitEvents,
} from '../protocol/index.ts';

/** Longest event judged, bytes: far above any real token event; a longer one fails the stream. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/**
 * Follows a streamed body chunk by chunk and judges whether it ended well: an end marker (SSE
 * `data: [DONE]`, an NDJSON record with `done: true`) and no in-band error or malformed event
 * before it. Chunks may cut events anywhere; events are split in time linear in the bytes (the
 * proxy's own `EventSplitter`), and one longer than 16 MiB fails the stream.
 */
export class StreamCheck {
  readonly #framing: Framing;
  readonly #splitter: EventSplitter;
  #done = false;
  #failed = false;

  constructor(framing: Framing) {
    this.#framing = framing;
    this.#splitter = new EventSplitter(framing, MAX_EVENT_BYTES);
  }

  /** Feeds the next body chunk. */
  push(chunk: Buffer): void {
    if (this.#failed || this.#done) return;
    const whole = this.#splitter.push(chunk);
    if (whole === EVENT_TOO_LONG) this.#failed = true;
    else if (whole !== null) this.#events(whole.toString('utf8'));
  }

  /** Ends the body; true when the stream ended well. An unterminated last event is judged too. */
  end(): boolean {
    const rest = this.#splitter.end();
    if (rest !== null && !this.#failed && !this.#done) this.#events(rest.toString('utf8'));
    return this.#done && !this.#failed;
  }

  #events(text: string): void {
    for (const payload of splitEvents(this.#framing, text)) {
      const kind = classifyEvent(this.#framing, payload).kind;
      if (kind === EventKind.DONE) {
        this.#done = true;
        return;
      }
      if (kind !== EventKind.DATA) {
        this.#failed = true;
        return;
      }
    }
  }
}
