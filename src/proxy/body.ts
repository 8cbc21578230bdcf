import type { IncomingMessage } from 'node:http';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { LimitsPolicy } from '../policy/index.ts';
import type { BodyBudget } from './body-budget.ts';
import { JsonScanner, type JsonLimit } from './json-scan.ts';

/** The body of an LLM call: its bytes (replayed on every tier) and the JSON object they hold. */
export interface LlmBody {
  readonly ok: true;
  readonly body: Buffer;
  readonly json: Record<string, unknown>;
  /** Bytes taken from the process's body budget: give them back when the call ends. */
  readonly held: number;
}

/** A body that cannot be used; `close` asks to close the connection after the answer. */
export interface BadBody {
  readonly ok: false;
  readonly error: BreakwaterError;
  readonly close: boolean;
  /** Seconds for `Retry-After` (a full body budget is momentary), or null. */
  readonly retryAfterSeconds: number | null;
}

/** The client went away before its body arrived: nothing to answer, not an error. */
export const ABORTED = Symbol('aborted');

/** The `limits` the body step reads. */
export type BodyLimits = Pick<
  LimitsPolicy,
  'maxRequestBodyBytes' | 'maxJsonDepth' | 'maxJsonMembers' | 'bodyIdleTimeoutMs'
>;

/** Limits of bytes only: no JSON bound, no idle bound. */
function bytesOnly(maxRequestBodyBytes: number): BodyLimits {
  const none = Number.MAX_SAFE_INTEGER;
  return { maxRequestBodyBytes, maxJsonDepth: none, maxJsonMembers: none, bodyIdleTimeoutMs: 0 };
}

/** How reading an LLM call's body ended: expected outcomes, not errors. */
type BodyResult =
  | { readonly kind: 'ok'; readonly body: Buffer; readonly held: number }
  /** The process's body budget (`limits.maxBufferedBytes`) is full. */
  | { readonly kind: 'buffer_full' }
  /** Larger than `limits.maxRequestBody`. */
  | { readonly kind: 'too_large' }
  /** Deeper than `limits.maxJsonDepth`, or more members than `limits.maxJsonMembers`. */
  | { readonly kind: 'too_complex'; readonly limit: JsonLimit }
  /** No byte for `limits.bodyIdleTimeout`. */
  | { readonly kind: 'idle' }
  /** The client went away first: nothing to answer. */
  | { readonly kind: 'aborted' };

const TOO_LARGE: BodyResult = { kind: 'too_large' };
const IDLE: BodyResult = { kind: 'idle' };
const ABORTED_READ: BodyResult = { kind: 'aborted' };
const BUFFER_FULL: BodyResult = { kind: 'buffer_full' };

/**
 * The body step (docs/design.md#body): reads the body within `limits` (see `readBody`) and parses
 * it as a JSON object. A body over a limit, or silent too long, is refused and the connection
 * closed after the answer (the rest of it is never read); one that is not a JSON object gets
 * `BW_ERR_REQUEST_INVALID`.
 */
export async function readLlmBody(
  req: IncomingMessage,
  limits: BodyLimits | number,
  budget: BodyBudget | null = null,
): Promise<LlmBody | BadBody | typeof ABORTED> {
  if (typeof limits === 'number') limits = bytesOnly(limits);
  const read = await readBody(req, limits, budget);
  if (read.kind === 'aborted') return ABORTED;
  if (read.kind !== 'ok') {
    req.resume();
    const retryAfterSeconds = read.kind === 'buffer_full' ? 1 : null;
    return { ok: false, error: bodyError(read, limits, budget), close: true, retryAfterSeconds };
  }
  const json = parseJson(read.body);
  if (json === null) {
    budget?.give(read.held);
    const error = new BreakwaterError(ErrorCode.REQUEST_INVALID, 'request body must be a JSON object');
    return { ok: false, error, close: false, retryAfterSeconds: null };
  }
  return { ok: true, body: read.body, json, held: read.held };
}

/** The error of a body refused by a limit. */
function bodyError(
  r: Exclude<BodyResult, { kind: 'ok' | 'aborted' }>,
  limits: BodyLimits,
  budget: BodyBudget | null,
): BreakwaterError {
  switch (r.kind) {
    case 'buffer_full':
      return new BreakwaterError(
        ErrorCode.BUFFER_FULL,
        `request bodies held at once would pass ${budget?.limit ?? 0} bytes (limits.maxBufferedBytes): try again`,
      );
    case 'too_large':
      return new BreakwaterError(
        ErrorCode.BODY_TOO_LARGE,
        `request body larger than ${limits.maxRequestBodyBytes} bytes (limits.maxRequestBody)`,
      );
    case 'too_complex':
      return new BreakwaterError(
        ErrorCode.BODY_TOO_COMPLEX,
        r.limit === 'depth'
          ? `request body nested deeper than ${limits.maxJsonDepth} levels (limits.maxJsonDepth)`
          : `request body has more than ${limits.maxJsonMembers} JSON members (limits.maxJsonMembers)`,
      );
    case 'idle':
      return bodyIdle(limits);
  }
}

/** A request body silent for `limits.bodyIdleTimeout`. */
export function bodyIdle(limits: BodyLimits): BreakwaterError {
  const msg = `request body idle for ${limits.bodyIdleTimeoutMs} ms (limits.bodyIdleTimeout)`;
  return new BreakwaterError(ErrorCode.REQUEST_TIMEOUT, msg);
}

interface IdleWatch {
  readonly req: IncomingMessage;
  readonly ms: number;
  readonly onIdle: () => void;
  readonly disarm: () => void;
  armed: boolean;
  done: boolean;
}

function arm(w: IdleWatch): void {
  if (w.done || w.req.complete || w.req.socket === null) return;
  w.armed = true;
  w.req.on('timeout', w.onIdle);
  w.req.on('end', w.disarm);
  // The socket's own idle timer (what Node's keep-alive timeout uses): no timer object per call.
  w.req.socket.setTimeout(w.ms);
}

/**
 * Calls `onIdle` when a request body in progress stays silent for `ms` (`limits.bodyIdleTimeout`;
 * 0 = never). Armed after the current I/O turn, and only when the body is still incomplete then:
 * a body that came with its headers costs nothing. Disarmed when the body ends; returns the
 * disarm function for an earlier end (a refusal).
 */
export function watchBodyIdle(req: IncomingMessage, ms: number, onIdle: () => void): () => void {
  if (ms <= 0 || req.complete) return noop;
  const disarm = (): void => {
    w.done = true;
    if (!w.armed) return;
    w.armed = false;
    req.off('timeout', onIdle);
    req.off('end', disarm);
    // Back to the server's default for a request in progress (server.timeout: none).
    req.socket?.setTimeout(0);
  };
  const w: IdleWatch = { req, ms, onIdle, disarm, armed: false, done: false };
  process.nextTick(arm, w);
  return disarm;
}

const noop = (): void => undefined;

/**
 * Reads an LLM call's body within `limits`: bytes (`maxRequestBody`), JSON depth and members
 * (`maxJsonDepth`, `maxJsonMembers`, counted chunk by chunk as the bytes arrive, so a hostile body
 * is refused early and never reaches `JSON.parse`), and silence (`bodyIdleTimeout`). After a
 * refusal the bytes still arriving are dropped unread; the caller answers and closes the connection.
 */
function readBody(req: IncomingMessage, limits: BodyLimits, budget: BodyBudget | null): Promise<BodyResult> {
  return new Promise((resolve) => {
    const limit = limits.maxRequestBodyBytes;
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > limit) {
      resolve(TOO_LARGE);
      return;
    }
    const scanner = new JsonScanner(limits.maxJsonDepth, limits.maxJsonMembers);
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (r: BodyResult): void => {
      if (settled) return;
      settled = true;
      disarm();
      chunks.length = 0;
      if (r.kind !== 'ok') budget?.give(taken);
      resolve(r);
    };
    /** Bytes taken from the budget so far. */
    let taken = 0;
    const disarm = watchBodyIdle(req, limits.bodyIdleTimeoutMs, () => settle(IDLE));
    req.on('data', (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (size > limit) return settle(TOO_LARGE);
      const over = scanner.push(c);
      if (over !== null) return settle({ kind: 'too_complex', limit: over });
      if (budget !== null) {
        if (!budget.take(c.length)) return settle(BUFFER_FULL);
        taken += c.length;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      settle({ kind: 'ok', body, held: taken });
    });
    req.on('error', () => settle(ABORTED_READ));
    req.on('close', () => {
      if (!req.complete) settle(ABORTED_READ);
    });
  });
}

/** The body as a JSON object, or null when it is empty, not JSON, or not an object. */
export function parseJson(body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return null;
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}
