import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock/index.ts';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { Framing, errorEvent, normalizeErrorBody, writeJsonError, type Protocol } from '../protocol/index.ts';
import { clientResponseHeaders } from './headers.ts';

type UpstreamHeaders = Record<string, string | string[] | undefined>;

/**
 * The one owner of a client response on the LLM path (docs/design.md#the-pipeline-in-code):
 * headers held back until the first token, the bytes of one tick gathered into one write,
 * backpressure on the upstream that feeds it, and the final error event that ends a cut stream.
 * One per request: a stream resumed on the next tier keeps writing through the same writer.
 */
export class ClientWriter {
  readonly res: ServerResponse;
  /** The client's protocol, for the shape of error events; set once the request is routed. */
  protocol: Protocol;
  /** The framing of the stream being written, once one started; null for whole answers. */
  framing: Framing | null;
  #status: number;
  #head: Record<string, string | string[]> | null;
  /** Bytes gathered for the client in this tick, or null. */
  #out: Buffer[] | null;
  /** The upstream call feeding this response, paused while the client does not drain. */
  #source: Dispatcher.DispatchController | null;
  #onDrain: (() => void) | null;
  #clock: Clock | null;
  /** When the client last stopped taking bytes (its writes backed up); -1 while it drains. */
  #pausedAtMs: number;
  /** When the client last drained after a stall: the upstream was held back until then. */
  resumedAtMs: number;

  constructor(res: ServerResponse, protocol: Protocol) {
    this.res = res;
    this.protocol = protocol;
    this.framing = null;
    this.#status = 0;
    this.#head = null;
    this.#out = null;
    this.#source = null;
    this.#onDrain = null;
    this.#clock = null;
    this.#pausedAtMs = -1;
    this.resumedAtMs = 0;
  }

  /** True once the client has the status line: the chain can no longer move on invisibly. */
  get committed(): boolean {
    return this.res.headersSent || this.#out !== null;
  }

  /** True while a stream is open towards the client (it must end with an end marker or an error event). */
  get streaming(): boolean {
    return this.framing !== null && this.committed && !this.res.writableEnded;
  }

  /**
   * Holds a stream's status and headers until its first token. When the client already reads a
   * stream (a continuation on the next tier), nothing is held: the head went out with the first tier.
   */
  holdStream(
    status: number,
    upstream: UpstreamHeaders,
    extra: Readonly<Record<string, string>>,
    framing: Framing,
  ): void {
    if (this.committed) return;
    this.framing = framing;
    this.#status = status;
    this.#head = clientResponseHeaders(upstream, extra);
  }

  /** Forgets a stream head held for a call that failed before its first token. */
  release(): void {
    if (this.committed) return;
    this.#head = null;
    this.framing = null;
  }

  /** Feeds backpressure to `source`: paused while the client's socket buffer is full. */
  bind(source: Dispatcher.DispatchController, clock: Clock | null = null): void {
    this.#source = source;
    this.#clock = clock;
  }

  /**
   * How long the client has taken nothing while its upstream is held back, or -1 when it drains:
   * the call bounds it by `timeout.idle` (a client that reads nothing, docs/policy.md).
   */
  stalledFor(now: number): number {
    return this.#pausedAtMs < 0 || this.#source?.paused !== true ? -1 : now - this.#pausedAtMs;
  }

  /** Stops feeding backpressure (the call ended). */
  unbind(): void {
    this.#source = null;
    if (this.#onDrain !== null) {
      this.res.off('drain', this.#onDrain);
      this.#onDrain = null;
    }
  }

  /**
   * Queues stream bytes; the first write sends the held head. What arrives in one tick leaves in
   * one write, together with the end when it follows at once (writev was ~32 % of a Node proxy's
   * CPU: docs/design.md#budgets). `res.cork()` cannot do it: Node 24 writes the chunked terminator
   * of `end()` ahead of chunks written while corked.
   */
  write(bytes: Buffer): void {
    if (this.#head !== null) {
      this.res.writeHead(this.#status, this.#head);
      this.#head = null;
    }
    if (this.#out === null) {
      this.#out = [bytes];
      process.nextTick(flushOf, this);
    } else {
      this.#out.push(bytes);
    }
  }

  /** Writes what this tick gathered (also called by `process.nextTick`). */
  flush(): void {
    const out = this.#out;
    if (out === null) return;
    this.#out = null;
    if (this.res.writableEnded) return;
    const ok = this.res.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (!ok) this.#pause();
  }

  /** Ends the response with what is gathered, plus `tail`, in one write. */
  end(tail?: string): void {
    const out = this.#out;
    this.#out = null;
    if (this.res.writableEnded) return;
    if (out === null) {
      this.res.end(tail);
      return;
    }
    if (tail !== undefined) out.push(Buffer.from(tail));
    this.res.end(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /** Ends an open stream with the protocol's final error event (never a clean-looking end). */
  endWithError(message: string, code: ErrorCode): void {
    this.end(errorEvent(this.framing ?? Framing.SSE, this.protocol, message, code));
  }

  /**
   * Sends a whole answer: status, the upstream's headers with `extra`, and `body` — an error body
   * (status ≥ 400) rewritten into the client's protocol when the upstream used another shape.
   * Returns the body sent.
   */
  answerWhole(
    status: number,
    upstream: UpstreamHeaders,
    extra: Readonly<Record<string, string>>,
    raw: Buffer,
  ): Buffer {
    const headers = clientResponseHeaders(upstream, extra);
    let body = raw;
    if (status >= 400) {
      const normalized = normalizeErrorBody(this.protocol, status, raw);
      if (normalized !== null) {
        body = Buffer.from(normalized);
        headers['content-type'] = 'application/json';
      }
    }
    headers['content-length'] = String(body.length);
    this.res.writeHead(status, headers);
    this.res.end(body);
    return body;
  }

  /**
   * Ends whatever is open at the shutdown timeout: a JSON 503 before headers, the final error
   * event of an open stream, else the connection.
   */
  abort(reason: string): void {
    if (!this.committed) {
      writeJsonError(this.res, 'openai', new BreakwaterError(ErrorCode.SHUTDOWN, reason));
    } else if (this.streaming) {
      this.endWithError(reason, ErrorCode.SHUTDOWN);
    } else {
      this.res.destroy();
    }
  }

  #pause(): void {
    const source = this.#source;
    if (source === null || source.paused) return;
    source.pause();
    this.#pausedAtMs = this.#clock?.now() ?? -1;
    if (this.#onDrain === null) {
      this.#onDrain = () => {
        if (this.#source?.paused !== true) return;
        this.#pausedAtMs = -1;
        this.resumedAtMs = this.#clock?.now() ?? 0;
        this.#source.resume();
      };
      this.res.on('drain', this.#onDrain);
    }
  }
}

/** `process.nextTick` callback without a closure per write. */
function flushOf(writer: ClientWriter): void {
  writer.flush();
}
