import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../clock/index.ts';
import type { ActiveFault } from './fault.ts';
import { FaultMode } from './types.ts';
import {
  IN_BAND_EVENT,
  MALFORMED_EVENT,
  errorReply,
  faultMessage,
  inBandReply,
  type JsonReply,
  type Reply,
  type StreamReply,
  type WireStyle,
} from './wire.ts';

/** What happens after the last event of a stream has been written. */
const Tail = { END: 'end', RESET: 'reset', STALL: 'stall' } as const;
type Tail = (typeof Tail)[keyof typeof Tail];

/** What delivery reads from the server; `chunkDelayMs` is read at the start of each response. */
export interface DeliveryContext {
  readonly clock: Clock;
  readonly chunkDelayMs: number;
}

/**
 * Sends `reply` on `res`, shaped by `fault` (null: no fault). Connection-level faults (refuse,
 * reset, hang) never get here: the server acts on them before reading the body.
 */
export function deliver(
  ctx: DeliveryContext,
  res: ServerResponse,
  style: WireStyle,
  reply: Reply,
  fault: ActiveFault | null,
): void {
  const mode = fault === null ? FaultMode.NONE : fault.mode;
  if (fault === null || mode === FaultMode.NONE) {
    if (reply.stream) streamOut(ctx, res, reply, reply.events, Tail.END, 0);
    else sendJson(res, reply);
    return;
  }
  const k = fault.afterChunks;
  switch (mode) {
    case FaultMode.STATUS:
      return later(ctx, res, fault.delayMs, () => sendJson(res, statusReply(style, fault)));
    case FaultMode.SLOW:
      if (reply.stream) return streamOut(ctx, res, reply, reply.events, Tail.END, fault.delayMs);
      return later(ctx, res, fault.delayMs, () => sendJson(res, reply));
    case FaultMode.IN_BAND_ERROR:
      if (reply.stream) return streamOut(ctx, res, reply, [IN_BAND_EVENT[style]], Tail.END, fault.delayMs);
      return later(ctx, res, fault.delayMs, () => sendJson(res, inBandReply(style)));
    case FaultMode.RESET_MID_STREAM:
      if (reply.stream) return streamOut(ctx, res, reply, reply.events.slice(0, k), Tail.RESET, 0);
      return sendPartial(res, reply, Tail.RESET);
    case FaultMode.STALL_MID_STREAM:
      if (reply.stream) return streamOut(ctx, res, reply, reply.events.slice(0, k), Tail.STALL, 0);
      return sendPartial(res, reply, Tail.STALL);
    case FaultMode.MALFORMED:
      if (reply.stream) {
        const events = [...reply.events.slice(0, k), MALFORMED_EVENT[style]];
        return streamOut(ctx, res, reply, events, Tail.END, 0);
      }
      return sendJson(res, { ...reply, body: reply.body.slice(0, Math.floor(reply.body.length / 2)) });
    default:
      // refuse / reset / hang are handled before delivery; answer normally if one slips through.
      if (reply.stream) streamOut(ctx, res, reply, reply.events, Tail.END, 0);
      else sendJson(res, reply);
  }
}

function statusReply(style: WireStyle, fault: ActiveFault): JsonReply {
  if (fault.body === null) return errorReply(style, fault.status, faultMessage(fault.status));
  return {
    stream: false,
    status: fault.status,
    contentType: fault.bodyType,
    body: fault.body,
    headers: null,
  };
}

/** Sends a whole JSON response in one write. */
export function sendJson(res: ServerResponse, reply: JsonReply): void {
  if (res.destroyed) return;
  const length = Buffer.byteLength(reply.body);
  // An empty content type means none (MAX's bare `Response(status_code=200)` on /health).
  const headers: OutgoingHttpHeaders =
    reply.contentType === ''
      ? { 'content-length': length }
      : { 'content-type': reply.contentType, 'content-length': length };
  res.writeHead(reply.status, reply.headers === null ? headers : { ...reply.headers, ...headers });
  res.end(reply.body);
}

/** Headers with the full length, then half the body, then reset or silence. */
function sendPartial(res: ServerResponse, reply: JsonReply, tail: Tail): void {
  const bytes = Buffer.from(reply.body);
  res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': bytes.length });
  const half = bytes.subarray(0, Math.floor(bytes.length / 2));
  finish(res, half.length > 0 ? half : null, tail);
}

function later(ctx: DeliveryContext, res: ServerResponse, delayMs: number, fn: () => void): void {
  if (delayMs <= 0) return fn();
  const timer = ctx.clock.setTimeout(fn, delayMs);
  res.on('close', () => ctx.clock.clearTimeout(timer));
}

/**
 * Sends `200` headers, then `events` (the first after `firstDelayMs`, the others `chunkDelayMs`
 * apart), then the tail. With no delay at all, headers and events go out in one write.
 */
function streamOut(
  ctx: DeliveryContext,
  res: ServerResponse,
  reply: StreamReply,
  events: readonly string[],
  tail: Tail,
  firstDelayMs: number,
): void {
  res.writeHead(200, reply.headers);
  if (firstDelayMs <= 0 && ctx.chunkDelayMs <= 0) {
    finish(res, events.length === 0 ? null : events.length === 1 ? events[0]! : events.join(''), tail);
    return;
  }
  // Headers first, as MAX does before it knows whether generation will work.
  res.flushHeaders();
  const run = new StreamRun(ctx.clock, res, events, tail, ctx.chunkDelayMs);
  res.on('close', () => run.cancel());
  run.schedule(firstDelayMs);
}

/** A stream written one event per tick of the clock. */
class StreamRun {
  readonly #clock: Clock;
  readonly #res: ServerResponse;
  readonly #events: readonly string[];
  readonly #tail: Tail;
  readonly #gapMs: number;
  #next = 0;
  #timer: TimerHandle | null = null;

  constructor(clock: Clock, res: ServerResponse, events: readonly string[], tail: Tail, gapMs: number) {
    this.#clock = clock;
    this.#res = res;
    this.#events = events;
    this.#tail = tail;
    this.#gapMs = gapMs;
  }

  schedule(delayMs: number): void {
    if (delayMs <= 0) return this.#tick();
    this.#timer = this.#clock.setTimeout(() => this.#tick(), delayMs);
  }

  cancel(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    this.#timer = null;
    if (this.#res.destroyed) return;
    const left = this.#events.length - this.#next;
    if (left <= 0) return finish(this.#res, null, this.#tail);
    if (this.#gapMs <= 0 || left === 1) {
      const rest = this.#next === 0 ? this.#events : this.#events.slice(this.#next);
      this.#next = this.#events.length;
      return finish(this.#res, rest.length === 1 ? rest[0]! : rest.join(''), this.#tail);
    }
    this.#res.write(this.#events[this.#next]!);
    this.#next += 1;
    this.schedule(this.#gapMs);
  }
}

/** Writes the last data (or none), then ends, resets or stalls. */
function finish(res: ServerResponse, data: string | Buffer | null, tail: Tail): void {
  if (res.destroyed) return;
  switch (tail) {
    case Tail.END:
      if (data === null) res.end();
      else res.end(data);
      return;
    case Tail.STALL:
      if (data === null) res.flushHeaders();
      else res.write(data);
      return;
    case Tail.RESET:
      // Reset only once the bytes are in the kernel, so the client sees them before the RST.
      if (data === null) {
        res.flushHeaders();
        res.socket?.write('', () => resetSocket(res));
      } else {
        res.write(data, () => resetSocket(res));
      }
  }
}

/** Destroys the response's socket with a TCP RST (the peer reads ECONNRESET). */
export function resetSocket(res: ServerResponse): void {
  const s = res.socket;
  if (s !== null && !s.destroyed) s.resetAndDestroy();
}
