import type { Dispatcher } from 'undici';
import { FailureKind } from '../breaker/index.ts';
import type { Clock, TimerHandle } from '../clock/index.ts';
import { ErrorCode } from '../errors/index.ts';
import { framingOf } from '../protocol/index.ts';
import type { CallOutcome, CallRequest } from './call-types.ts';
import type { ClientWriter } from './client-writer.ts';
import { callFailure, classifyError, statusFailure, type CallFailure } from './failure.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { Recorder } from './recorder.ts';
import type { UpstreamRuntime } from './runtime.ts';
import { StreamRelay } from './stream-relay.ts';
import { wholeTokens } from './tokens.ts';
import { WholeBody, headProblem } from './whole-body.ts';

/**
 * One call to one upstream, as an undici dispatch handler, so the body flows with manual
 * backpressure and no stream objects per request (docs/design.md#budgets: `pool.dispatch()`
 * paused under 1 ms where `stream.pipeline` cost 20–25 ms GC pauses).
 *
 * The call owns its timers (first token, idle, total) and the answer's admission by status; a
 * whole body is gathered here (the home of a response-body cap), a stream goes through a
 * `StreamRelay`, and every byte reaches the client through the request's `ClientWriter`
 * (docs/design.md#first-token). The outcome is a value handed to `resolve`, exactly once.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  readonly #up: UpstreamRuntime;
  readonly #req: CallRequest;
  readonly #writer: ClientWriter;
  readonly #clock: Clock;
  readonly #resolve: (o: CallOutcome) => void;
  #controller: Dispatcher.DispatchController | null;
  #status: number;
  #headers: Record<string, string | string[] | undefined> | null;
  /** A whole answer being gathered, or null. */
  #whole: WholeBody | null;
  #relay: StreamRelay | null;
  #recorder: Recorder | null;
  #firstByteTimer: TimerHandle | null;
  #idleTimer: TimerHandle | null;
  #totalTimer: TimerHandle | null;
  #lastChunkAtMs: number;
  #settled: boolean;
  /** ms from dispatch to the first token; -1 until then. */
  firstByteMs: number;
  readonly #startedAtMs: number;

  constructor(
    up: UpstreamRuntime,
    req: CallRequest,
    writer: ClientWriter,
    clock: Clock,
    resolve: (o: CallOutcome) => void,
  ) {
    this.#up = up;
    this.#req = req;
    this.#writer = writer;
    this.#clock = clock;
    this.#resolve = resolve;
    this.#controller = null;
    this.#status = 0;
    this.#headers = null;
    this.#whole = null;
    this.#relay = null;
    this.#recorder = null;
    this.#firstByteTimer = null;
    this.#idleTimer = null;
    this.#totalTimer = null;
    this.#lastChunkAtMs = 0;
    this.#settled = false;
    this.firstByteMs = -1;
    this.#startedAtMs = clock.now();
  }

  /** Sends the request. The outcome arrives through the `resolve` given to the constructor. */
  start(): void {
    const u = this.#up.policy;
    const t = u.timeouts;
    this.#firstByteTimer = this.#clock.setTimeout(this.#onFirstByteTimeout, t.firstByteMs);
    if (t.totalMs !== null) this.#totalTimer = this.#clock.setTimeout(this.#onTotalTimeout, t.totalMs);
    this.#writer.res.on('close', this.#onClientClose);
    const r = this.#req;
    const path = u.basePath === '/' ? r.path : u.basePath + r.path;
    const headers = upstreamRequestHeaders(
      r.rawHeaders,
      r.connection,
      u.authority,
      u.headers,
      this.#up.headerNames,
      r.body.length,
      r.traceparent,
    );
    this.#up.pool.dispatch({ path, method: r.method, headers, body: r.body }, this);
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
      this.#fail(statusFailure(statusCode));
      return;
    }
    const framing = statusCode < 300 ? framingOf(headers['content-type']) : null;
    const limits = this.#up.limits;
    const problem = headProblem(statusCode, headers, framing, limits.maxResponseBodyBytes);
    if (problem !== null) {
      this.#fail(problem);
      return;
    }
    const r = this.#req;
    if (framing === null && r.resumption?.continuing === true) {
      // A whole answer cannot be spliced into a stream the client is already reading.
      this.#fail(statusFailure(statusCode, `HTTP ${statusCode} without a stream to continue with`));
      return;
    }
    if (r.recordLimitBytes > 0 && statusCode < 300) this.#recorder = new Recorder(r.recordLimitBytes);
    if (framing === null) {
      this.#whole = new WholeBody(limits.maxResponseBodyBytes);
      return;
    }
    this.#writer.holdStream(statusCode, headers, r.tierHeaders, framing);
    this.#writer.bind(controller, this.#clock);
    const resumption = r.trackText ? r.resumption : null;
    this.#relay = new StreamRelay(framing, this.#writer, resumption, limits.maxStreamLineBytes, r.interToken);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#recorder?.push(chunk);
    if (this.#whole !== null) {
      const over = this.#whole.push(chunk);
      if (over !== null) this.#fail(over);
      return;
    }
    const relay = this.#relay;
    if (relay === null) return;
    this.#lastChunkAtMs = this.#clock.now();
    const wasStarted = relay.started;
    const bad = relay.push(chunk, this.#lastChunkAtMs);
    if (!wasStarted && relay.started) this.#onFirstToken();
    if (bad !== null) this.#fail(bad);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    if (this.#whole !== null) {
      this.#endWhole(this.#whole);
      return;
    }
    const relay = this.#relay;
    if (relay === null) return;
    const wasStarted = relay.started;
    const bad = relay.end();
    if (!wasStarted && relay.started) this.#onFirstToken();
    if (bad !== null) {
      this.#fail(bad);
      return;
    }
    this.#writer.end();
    const recorded =
      this.#recorder?.stream(this.#status, this.#headers!['content-type'], this.#writer.framing!) ?? null;
    const tokens = relay.tokens(this.#startedAtMs + this.firstByteMs);
    this.#finish({ kind: 'ok', status: this.#status, recorded, tokens });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#settled) return;
    this.#fail(classifyError(err));
  }

  #endWhole(whole: WholeBody): void {
    this.#whole = null;
    const raw = whole.end(this.#status, this.#headers!['content-type']);
    if (!Buffer.isBuffer(raw)) {
      this.#fail(raw);
      return;
    }
    this.#markFirstByte();
    const body = this.#writer.answerWhole(this.#status, this.#headers!, this.#req.tierHeaders, raw);
    const recorded = this.#recorder?.whole(this.#status, this.#headers!['content-type'], body) ?? null;
    const tokens = wholeTokens(this.#req.protocol, this.#status, raw, this.firstByteMs);
    this.#finish({ kind: 'ok', status: this.#status, recorded, tokens });
  }

  /** The first event reached the client: the first-token timer stops; streams that outlive this tick get an idle timer. */
  #onFirstToken(): void {
    this.#markFirstByte();
    process.nextTick(armIdleOf, this);
  }

  /** Arms the idle timer of a stream still running after its first tick (static: no closure per call). */
  static armIdle(call: UpstreamCall): void {
    if (call.#settled || call.#idleTimer !== null) return;
    call.#idleTimer = call.#clock.setTimeout(call.#onIdleCheck, call.#up.policy.timeouts.idleMs);
  }

  #markFirstByte(): void {
    if (this.firstByteMs >= 0) return;
    this.firstByteMs = this.#clock.now() - this.#startedAtMs;
    if (this.#firstByteTimer !== null) {
      this.#clock.clearTimeout(this.#firstByteTimer);
      this.#firstByteTimer = null;
    }
  }

  /**
   * A failure. Before the client got bytes the chain moves on invisibly. After, the stream is left
   * open when it may be resumed on the next tier, else ended with the protocol's error event.
   */
  #fail(failure: CallFailure): void {
    if (this.#settled) return;
    const writer = this.#writer;
    const committed = writer.committed;
    const resumption = this.#req.resumption;
    const resumable =
      committed &&
      resumption !== null &&
      resumption.text !== null &&
      (this.#req.trackText || (resumption.continuing && this.#relay?.started !== true));
    if (resumable) writer.flush();
    else if (committed) {
      const message = `upstream ${this.#up.policy.name} failed mid-stream: ${failure.message}`;
      writer.endWithError(message, ErrorCode.STREAM_INTERRUPTED);
    } else writer.release();
    this.#finish({ kind: 'failed', failure, committed, resumable });
    this.#controller?.abort(new Error(failure.message));
  }

  #finish(outcome: CallOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#whole = null;
    const clock = this.#clock;
    if (this.#firstByteTimer !== null) clock.clearTimeout(this.#firstByteTimer);
    if (this.#idleTimer !== null) clock.clearTimeout(this.#idleTimer);
    if (this.#totalTimer !== null) clock.clearTimeout(this.#totalTimer);
    this.#firstByteTimer = this.#idleTimer = this.#totalTimer = null;
    this.#writer.res.off('close', this.#onClientClose);
    this.#writer.unbind();
    this.#resolve(outcome);
  }

  readonly #onClientClose = (): void => {
    if (this.#settled || this.#writer.res.writableFinished) return;
    this.#finish({ kind: 'client_gone' });
    this.#controller?.abort(new Error('client went away'));
  };

  readonly #onFirstByteTimeout = (): void => {
    this.#firstByteTimer = null;
    const ms = this.#up.policy.timeouts.firstByteMs;
    this.#fail(callFailure(FailureKind.TIMEOUT, `no first token within ${ms}ms`));
  };

  readonly #onTotalTimeout = (): void => {
    this.#totalTimer = null;
    const ms = this.#up.policy.timeouts.totalMs ?? 0;
    this.#fail(callFailure(FailureKind.TIMEOUT, `call exceeded ${ms}ms`));
  };

  readonly #onIdleCheck = (): void => {
    this.#idleTimer = null;
    if (this.#settled) return;
    const idleMs = this.#up.policy.timeouts.idleMs;
    const now = this.#clock.now();
    // While the client takes nothing, the gap is the client's: it is bounded by `timeout.idle`
    // too, without blaming the upstream (docs/policy.md, `timeout.idle`).
    const stalledFor = this.#writer.stalledFor(now);
    const waited =
      stalledFor >= 0 ? stalledFor : now - Math.max(this.#lastChunkAtMs, this.#writer.resumedAtMs);
    if (waited >= idleMs) {
      if (stalledFor < 0) this.#fail(callFailure(FailureKind.IDLE_TIMEOUT, `stream idle for ${waited}ms`));
      else this.#writer.res.destroy(); // the client read nothing: its close ends the call
      return;
    }
    // Re-arm for the rest of the gap: one timer per stream, not one per chunk.
    this.#idleTimer = this.#clock.setTimeout(this.#onIdleCheck, Math.max(1, idleMs - waited));
  };
}

function armIdleOf(call: UpstreamCall): void {
  UpstreamCall.armIdle(call);
}
