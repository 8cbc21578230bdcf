import { EventKind, Framing, classifyEvent, lastBoundary, splitEvents } from '../protocol/index.ts';

/**
 * Follows a streamed body chunk by chunk and judges whether it ended well: an end marker (SSE
 * `data: [DONE]`, an NDJSON record with `done: true`) and no in-band error or malformed event
 * before it. Chunks may cut events anywhere; only the unfinished tail is kept.
 */
export class StreamCheck {
  readonly #framing: Framing;
  #tail: Buffer | null = null;
  #done = false;
  #failed = false;

  constructor(framing: Framing) {
    this.#framing = framing;
  }

  /** Feeds the next body chunk. */
  push(chunk: Buffer): void {
    if (this.#failed || this.#done) return;
    const buf = this.#tail === null ? chunk : Buffer.concat([this.#tail, chunk]);
    const end = lastBoundary(this.#framing, buf);
    this.#tail = end === buf.length ? null : buf.subarray(end);
    if (end > 0) this.#events(buf.toString('utf8', 0, end));
  }

  /** Ends the body; true when the stream ended well. An unterminated last event is judged too. */
  end(): boolean {
    if (this.#tail !== null && !this.#failed && !this.#done) this.#events(this.#tail.toString('utf8'));
    this.#tail = null;
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
