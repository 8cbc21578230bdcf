import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { FailureKind, type Failure } from '../breaker/index.ts';
import type { Clock, TimerHandle } from '../clock/index.ts';
import { ErrorCode } from '../errors/index.ts';
import {
  EventKind,
  Framing,
  classifyEvent,
  errorEvent,
  fastScan,
  lastBoundary,
  normalizeErrorBody,
  splitEvents,
  answerUsage,
  type TokenUsage,
} from '../protocol/index.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import type { UpstreamRuntime } from './runtime.ts';
import { openStreams, type CallOutcome, type CallRequest, type RecordedAnswer } from './call-types.ts';
import { assistantPiece, classifyError, framingOf } from './classify.ts';
import { withTraceparent } from './trace-header.ts';

const Mode = { PENDING: 0, WHOLE: 1, STREAM: 2, DISCARD: 3, DONE: 4 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

/**
 * One call to one upstream, written as an undici dispatch handler so the body flows with manual
 * backpressure and no stream objects per request (SPEC §10: `pool.dispatch()` paused under 1 ms
 * where `stream.pipeline` cost 20–25 ms GC pauses).
 *
 * Response headers are held back until the first token: the whole body of a plain answer, or the
 * first complete SSE event / NDJSON line of a stream. Until then a failure leaves the client
 * untouched and the chain moves on; after it, a failure ends the client's stream with a final
 * error event in its protocol.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  readonly #up: UpstreamRuntime;
  readonly #req: CallRequest;
  readonly #res: ServerResponse;
  readonly #extraHeaders: Readonly<Record<string, string>>;
  readonly #clock: Clock;
  readonly #resolve: (o: CallOutcome) => void;
  #controller: Dispatcher.DispatchController | null;
  #mode: Mode;
  #status: number;
  #headers: Record<string, string | string[] | undefined> | null;
  #framing: Framing | null;
  #chunks: Buffer[] | null;
  #pending: Buffer | null;
  #committed: boolean;
  #sawDone: boolean;
  #record: Buffer[] | null;
  #recordBytes: number;
  #firstByteTimer: TimerHandle | null;
  #idleTimer: TimerHandle | null;
  #totalTimer: TimerHandle | null;
  #lastChunkAtMs: number;
  #settled: boolean;
  /** Assistant text sent so far (resumable calls only); null once a tool call makes it not resumable. */
  #partial: string | null;
  /** Stream-only listeners, created when a stream commits (a plain answer never needs them). */
  #drainListener: (() => void) | null;
  #idleCheck: (() => void) | null;
  /** Bytes gathered for the client in this tick, or null. */
  #out: Buffer[] | null;
  /** ms from dispatch to the first token; -1 until then. */
  firstByteMs: number;
  /** Token usage the upstream reported in a successful answer; null when absent or malformed. */
  usage: TokenUsage | null;
  /** Stream events relayed, end marker excluded (0 for whole answers). */
  events: number;
  /** ms (clock) of the last read that carried events; -1 before the first. */
  lastEventAtMs: number;
  /** The last two slices that carried events: where a stream's final usage chunk is. */
  #tail: Buffer | null;
  #prevTail: Buffer | null;
  readonly #startedAtMs: number;

  constructor(
    up: UpstreamRuntime,
    req: CallRequest,
    res: ServerResponse,
    extraHeaders: Readonly<Record<string, string>>,
    clock: Clock,
    resolve: (o: CallOutcome) => void,
  ) {
    this.#up = up;
    this.#req = req;
    this.#res = res;
    this.#extraHeaders = extraHeaders;
    this.#clock = clock;
    this.#resolve = resolve;
    this.#controller = null;
    this.#mode = Mode.PENDING;
    this.#status = 0;
    this.#headers = null;
    this.#framing = null;
    this.#chunks = null;
    this.#pending = null;
    this.#committed = false;
    this.#sawDone = false;
    this.#record = null;
    this.#recordBytes = 0;
    this.#firstByteTimer = null;
    this.#idleTimer = null;
    this.#totalTimer = null;
    this.#lastChunkAtMs = 0;
    this.#settled = false;
    this.#out = null;
    this.#drainListener = null;
    this.#idleCheck = null;
    this.#partial = req.resumable ? (req.continueFrom ?? '') : null;
    this.firstByteMs = -1;
    this.usage = null;
    this.events = 0;
    this.lastEventAtMs = -1;
    this.#tail = null;
    this.#prevTail = null;
    this.#startedAtMs = clock.now();
  }

  /** Sends the request. The outcome arrives through the `resolve` given to the constructor. */
  start(): void {
    const u = this.#up.policy;
    const t = u.timeouts;
    this.#firstByteTimer = this.#clock.setTimeout(this.#onFirstByteTimeout, t.firstByteMs);
    if (t.totalMs !== null)
      this.#totalTimer = this.#clock.setTimeout(() => this.#onTotalTimeout(), t.totalMs);
    this.#res.on('close', this.#onClientClose);
    const path = u.basePath === '/' ? this.#req.path : u.basePath + this.#req.path;
    const headers = upstreamRequestHeaders(
      this.#req.rawHeaders,
      this.#req.connection,
      u.authority,
      u.headers,
      this.#up.headerNames,
      this.#req.body.length,
    );
    if (this.#req.traceparent !== null) withTraceparent(headers, this.#req.traceparent);
    this.#up.pool.dispatch({ path, method: this.#req.method, headers, body: this.#req.body }, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#settled) controller.abort(new Error('call already settled'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.#settled || statusCode < 200) return;
    this.#status = statusCode;
    this.#headers = headers;
    if (statusCode === 429) {
      this.#finish({ kind: 'spill', status: 429 });
      controller.abort(new Error('spilled'));
      return;
    }
    if (this.#up.policy.failOn.has(statusCode)) {
      this.#fail({ kind: FailureKind.STATUS, message: `HTTP ${statusCode}` });
      return;
    }
    this.#framing = statusCode < 300 ? framingOf(headers['content-type']) : null;
    if (this.#framing === null && this.#req.continueFrom !== null) {
      // A whole answer cannot be spliced into a stream the client is already reading.
      this.#fail({
        kind: FailureKind.STATUS,
        message: `HTTP ${statusCode} without a stream to continue with`,
      });
      return;
    }
    if (this.#framing === null) {
      this.#mode = Mode.WHOLE;
      this.#chunks = [];
    } else {
      this.#mode = Mode.STREAM;
      if (this.#req.recordLimitBytes > 0) this.#record = [];
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#mode === Mode.WHOLE) {
      this.#chunks!.push(chunk);
      return;
    }
    if (this.#mode !== Mode.STREAM) return;
    this.#lastChunkAtMs = this.#clock.now();
    if (this.#record !== null) {
      this.#recordBytes += chunk.length;
      if (this.#recordBytes > this.#req.recordLimitBytes) this.#record = null;
      else this.#record.push(chunk);
    }
    const buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    const end = lastBoundary(this.#framing!, buf);
    if (end === 0) {
      this.#pending = buf;
      return;
    }
    this.#pending = end === buf.length ? null : buf.subarray(end);
    this.#forward(buf.subarray(0, end));
  }

  onResponseEnd(): void {
    if (this.#mode === Mode.WHOLE) {
      this.#endWhole();
      return;
    }
    if (this.#mode !== Mode.STREAM) return;
    if (this.#pending !== null) {
      // A last event without its terminating blank line / newline still counts.
      const rest = this.#pending;
      this.#pending = null;
      this.#forward(rest);
      if (this.#settled) return;
    }
    if (!this.#committed) {
      this.#fail({ kind: FailureKind.MALFORMED, message: 'stream ended before its first event' });
    } else if (!this.#sawDone) {
      this.#fail({ kind: FailureKind.RESET, message: 'stream ended without its end marker' });
    } else {
      this.#mode = Mode.DONE;
      this.#endResponse(undefined);
      this.usage = this.#streamUsage();
      this.#finish({ kind: 'ok', status: this.#status, recorded: this.#recorded() });
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#settled) return;
    this.#fail(classifyError(err));
  }

  /** Classifies complete events and writes them to the client (committing on the first). */
  #forward(slice: Buffer): void {
    const framing = this.#framing!;
    if (this.#partial === null) {
      const fast = fastScan(framing, slice);
      if (fast !== null) {
        if (fast.sawDone) this.#sawDone = true;
        if (fast.events > 0) {
          this.#noteEvents(fast.sawDone ? fast.events - 1 : fast.events, slice);
          this.#write(slice);
        }
        return;
      }
    }
    const events = splitEvents(framing, slice.toString('utf8'));
    let bad = -1;
    let badMessage = '';
    let badKind: Failure['kind'] = FailureKind.IN_BAND;
    for (let i = 0; i < events.length; i++) {
      const ev = classifyEvent(framing, events[i]!);
      if (ev.kind === EventKind.DONE) this.#sawDone = true;
      else if (ev.kind === EventKind.ERROR || ev.kind === EventKind.MALFORMED) {
        bad = i;
        badMessage = ev.message ?? 'stream error';
        badKind = ev.kind === EventKind.ERROR ? FailureKind.IN_BAND : FailureKind.MALFORMED;
        break;
      }
    }
    if (this.#partial !== null) this.#trackPartial(framing, events, bad === -1 ? events.length : bad);
    if (bad === -1) {
      // Comment-only slices (SSE keep-alives) do not commit the answer, but pass once it is.
      if (events.length === 0 && !this.#committed) return;
      this.#noteEvents(this.#sawDone ? events.length - 1 : events.length, slice);
      this.#write(slice);
      return;
    }
    if (bad > 0) {
      // Good events before the bad one still reach the client, re-framed.
      const good = events.slice(0, bad);
      this.#write(
        Buffer.from(
          framing === Framing.SSE ? good.map((e) => `data: ${e}\n\n`).join('') : good.join('\n') + '\n',
        ),
      );
    }
    this.#fail({ kind: badKind, message: badMessage });
  }

  /**
   * Counts `n` events read now: the gap since the previous read with events goes to the tier's
   * inter-token histogram (the first event's wait is the first-token time, measured apart).
   */
  #noteEvents(n: number, slice: Buffer): void {
    // Kept even when the slice holds only the end marker: Ollama's `done` record carries the counts.
    this.#prevTail = this.#tail;
    this.#tail = slice;
    if (n <= 0) return;
    const now = this.#lastChunkAtMs;
    if (this.lastEventAtMs >= 0) this.#req.interToken?.observe((now - this.lastEventAtMs) / 1000);
    this.lastEventAtMs = now;
    this.events += n;
  }

  /** Usage of a finished stream: in its last event-carrying read, or the one before (OpenAI `usage`, Ollama counts). */
  #streamUsage(): TokenUsage | null {
    const p = this.#req.protocol;
    const u = this.#tail === null ? null : answerUsage(p, this.#tail);
    const usage = u ?? (this.#prevTail === null ? null : answerUsage(p, this.#prevTail));
    this.#tail = this.#prevTail = null;
    return usage;
  }

  /** Adds the assistant text of `events[0, end)` to the partial answer; a tool call ends resumability. */
  #trackPartial(framing: Framing, events: readonly string[], end: number): void {
    for (let i = 0; i < end && this.#partial !== null; i++) {
      const e = events[i]!;
      if (e === '[DONE]') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(e);
      } catch {
        return;
      }
      const piece = assistantPiece(framing, obj);
      if (piece === null) this.#partial = null;
      else this.#partial += piece;
    }
  }

  #write(bytes: Buffer): void {
    if (!this.#committed) {
      this.#committed = true;
      this.#markFirstByte();
      if (this.#req.continueFrom === null) {
        this.#res.writeHead(this.#status, clientResponseHeaders(this.#headers!, this.#extraHeaders));
      }
    }
    // Gather what arrives in this tick and write it once: the chunk, and the end of the response
    // when it follows at once, leave in one writev (writev was ~32 % of a Node proxy's CPU:
    // SPEC §10). `res.cork()` cannot be used: Node 24 writes the chunked terminator of `end()`
    // ahead of chunks written while corked.
    if (this.#out === null) {
      this.#out = [bytes];
      process.nextTick(UpstreamCall.#flushOf, this);
    } else {
      this.#out.push(bytes);
    }
  }

  /** `process.nextTick` callback without a closure per call. */
  static #flushOf(call: UpstreamCall): void {
    call.#flush();
  }

  #flush(): void {
    const out = this.#out;
    if (out === null) return;
    this.#out = null;
    if (this.#res.writableEnded) return;
    if (this.#drainListener === null) this.#armStream();
    const ok = this.#res.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (!ok && this.#controller !== null && !this.#controller.paused) this.#controller.pause();
  }

  /**
   * What a stream still open after its first tick needs: the drain listener, the idle timer and
   * its entry in `openStreams`. A stream that ends within its first tick never pays for them.
   */
  #armStream(): void {
    if (this.#req.continueFrom === null) {
      openStreams.set(this.#res, { framing: this.#framing!, protocol: this.#req.protocol });
    }
    this.#drainListener = () => {
      if (this.#controller?.paused === true) this.#controller.resume();
    };
    this.#res.on('drain', this.#drainListener);
    this.#idleCheck = () => this.#onIdleCheck();
    this.#idleTimer = this.#clock.setTimeout(this.#idleCheck, this.#up.policy.timeouts.idleMs);
  }

  /** Ends the client response with whatever is gathered, plus `data`, in one write. */
  #endResponse(data: string | undefined): void {
    const out = this.#out;
    this.#out = null;
    if (out === null) {
      this.#res.end(data);
      return;
    }
    if (data !== undefined) out.push(Buffer.from(data));
    this.#res.end(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  #endWhole(): void {
    this.#markFirstByte();
    const chunks = this.#chunks!;
    let body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    this.#chunks = null;
    const headers = clientResponseHeaders(this.#headers!, this.#extraHeaders);
    if (this.#status >= 400) {
      const normalized = normalizeErrorBody(this.#req.protocol, this.#status, body);
      if (normalized !== null) {
        body = Buffer.from(normalized);
        headers['content-type'] = 'application/json';
      }
    }
    headers['content-length'] = String(body.length);
    this.#mode = Mode.DONE;
    this.#committed = true;
    this.#res.writeHead(this.#status, headers);
    this.#res.end(body);
    if (this.#status < 300) this.usage = answerUsage(this.#req.protocol, body);
    const ct = this.#headers!['content-type'];
    const recorded: RecordedAnswer | null =
      this.#req.recordLimitBytes > 0 && this.#status < 300 && body.length <= this.#req.recordLimitBytes
        ? { status: this.#status, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? '', framing: null, body }
        : null;
    this.#finish({ kind: 'ok', status: this.#status, recorded });
  }

  #recorded(): RecordedAnswer | null {
    if (this.#record === null) return null;
    const ct = this.#headers!['content-type'];
    return {
      status: this.#status,
      contentType: (Array.isArray(ct) ? ct[0] : ct) ?? '',
      framing: this.#framing,
      body: Buffer.concat(this.#record),
    };
  }

  #markFirstByte(): void {
    if (this.firstByteMs >= 0) return;
    this.firstByteMs = this.#clock.now() - this.#startedAtMs;
    if (this.#firstByteTimer !== null) {
      this.#clock.clearTimeout(this.#firstByteTimer);
      this.#firstByteTimer = null;
    }
  }

  /** A failure: before the client got bytes the chain moves on; after, the stream ends with an error event. */
  #fail(failure: Failure): void {
    if (this.#settled) return;
    // A continuation starts with the client already reading a stream. Failing before its own
    // first event it has sent nothing, so whatever comes next may still continue from there.
    const continueFrom = this.#req.continueFrom;
    const committed = this.#committed || continueFrom !== null;
    this.#mode = Mode.DONE;
    const partialText = !committed
      ? null
      : continueFrom !== null && !this.#committed
        ? continueFrom
        : this.#partial;
    if (committed && partialText === null && !this.#res.writableEnded) {
      this.#endResponse(
        errorEvent(
          this.#framing ?? Framing.SSE,
          this.#req.protocol,
          `upstream ${this.#up.policy.name} failed mid-stream: ${failure.message}`,
          ErrorCode.STREAM_INTERRUPTED,
        ),
      );
    }
    if (partialText !== null) this.#flush();
    this.#finish({ kind: 'failed', failure, committed, partialText });
    this.#controller?.abort(new Error(failure.message));
  }

  #finish(outcome: CallOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    if (outcome.kind !== 'ok') this.#mode = Mode.DISCARD;
    if (this.#firstByteTimer !== null) this.#clock.clearTimeout(this.#firstByteTimer);
    if (this.#idleTimer !== null) this.#clock.clearTimeout(this.#idleTimer);
    if (this.#totalTimer !== null) this.#clock.clearTimeout(this.#totalTimer);
    this.#firstByteTimer = this.#idleTimer = this.#totalTimer = null;
    this.#res.off('close', this.#onClientClose);
    if (this.#drainListener !== null) this.#res.off('drain', this.#drainListener);
    this.#resolve(outcome);
  }

  readonly #onClientClose = (): void => {
    if (this.#settled || this.#res.writableFinished) return;
    this.#finish({ kind: 'client_gone' });
    this.#controller?.abort(new Error('client went away'));
  };

  readonly #onFirstByteTimeout = (): void => {
    this.#firstByteTimer = null;
    const ms = this.#up.policy.timeouts.firstByteMs;
    this.#fail({ kind: FailureKind.TIMEOUT, message: `no first token within ${ms}ms` });
  };

  #onTotalTimeout(): void {
    this.#totalTimer = null;
    const ms = this.#up.policy.timeouts.totalMs ?? 0;
    this.#fail({ kind: FailureKind.TIMEOUT, message: `call exceeded ${ms}ms` });
  }

  #onIdleCheck(): void {
    this.#idleTimer = null;
    if (this.#settled) return;
    const idleMs = this.#up.policy.timeouts.idleMs;
    const waited = this.#clock.now() - this.#lastChunkAtMs;
    if (waited >= idleMs && this.#controller?.paused !== true) {
      this.#fail({ kind: FailureKind.IDLE_TIMEOUT, message: `stream idle for ${waited}ms` });
      return;
    }
    // Re-arm for the rest of the gap: one timer per stream, not one per chunk.
    this.#idleTimer = this.#clock.setTimeout(this.#idleCheck!, Math.max(1, idleMs - waited));
  }
}
