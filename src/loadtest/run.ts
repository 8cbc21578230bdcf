import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { systemClock, type Clock } from '../clock/index.ts';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { isConnectError } from '../net/index.ts';
import { framingOf } from '../protocol/index.ts';
import { StreamCheck } from './stream-check.ts';
import { summarize } from './summarize.ts';
import { ErrorKind, NO_TIER, type Sample, type Summary } from './types.ts';

/** Requests of a run when neither `requests` nor a duration is given. */
export const DEFAULT_REQUESTS = 1000;
/** Requests in flight at once (and connections of the pool). */
export const DEFAULT_CONCURRENCY = 50;
/** Limit of one request (connect, headers and whole body), in ms. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Upper bound of `concurrency`. */
export const MAX_CONCURRENCY = 10_000;

/** What to send and how much. Never mutated. */
export interface LoadOptions {
  /** Full `http(s)` URL of the endpoint, e.g. `http://127.0.0.1:15001/v1/chat/completions`. */
  readonly url: string;
  /** Request body (JSON text), sent with `POST`. */
  readonly body: string;
  /** Extra request headers; `content-type: application/json` is added unless given. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Requests to send; null for no count limit (then `durationMs` is required). */
  readonly requests: number | null;
  /** Requests in flight at once, 1..{@link MAX_CONCURRENCY}; also the pool's connections. */
  readonly concurrency: number;
  /** Stop starting new requests this many ms after the start; null or absent: no time limit. */
  readonly durationMs?: number | null;
  /** Limit of one request, in ms; default {@link DEFAULT_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** A stream was asked for: a 2xx answer that is not SSE/NDJSON counts as `stream_error`. Default false. */
  readonly stream?: boolean;
  /** Aborting stops starting new requests; those in flight finish (bounded by `timeoutMs`). */
  readonly signal?: AbortSignal;
}

/** Injectable time sources. */
export interface LoadDeps {
  /** Drives the duration bound and the per-request timeouts; default the system clock. */
  readonly clock?: Clock;
  /** High-resolution time in ms for latencies; default `performance.now`. */
  readonly nowMs?: () => number;
}

/** Samples in order of completion and their summary. */
export interface LoadResult {
  readonly samples: readonly Sample[];
  readonly summary: Summary;
}

function invalid(message: string): never {
  throw new BreakwaterError(ErrorCode.REQUEST_INVALID, message);
}

function checkOptions(o: LoadOptions): URL {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    return invalid(`url: expected an absolute http(s) URL, got ${JSON.stringify(o.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    invalid(`url: expected an http or https URL, got ${url.protocol}`);
  if (o.requests !== null && (!Number.isSafeInteger(o.requests) || o.requests < 1))
    invalid(`requests: expected an integer ≥ 1, got ${o.requests}`);
  if (!Number.isSafeInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > MAX_CONCURRENCY)
    invalid(`concurrency: expected an integer 1..${MAX_CONCURRENCY}, got ${o.concurrency}`);
  const d = o.durationMs ?? null;
  if (d !== null && !(d > 0)) invalid(`durationMs: expected > 0, got ${d}`);
  if (o.requests === null && d === null) invalid('requests: expected a count when there is no duration');
  const t = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(t > 0)) invalid(`timeoutMs: expected > 0, got ${t}`);
  return url;
}

function requestHeaders(extra: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...extra };
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
    headers['content-type'] = 'application/json';
  return headers;
}

/**
 * Sends `options.requests` POSTs (or as many as fit in `durationMs`) with `concurrency` workers
 * over one undici `Pool` of as many connections, and summarizes what came back. Never rejects
 * for failed requests — they are samples with an `error`; throws `BW_ERR_REQUEST_INVALID` on
 * invalid options. Stops by itself: each request is bounded by `timeoutMs`.
 */
export async function runLoad(options: LoadOptions, deps: LoadDeps = {}): Promise<LoadResult> {
  const url = checkOptions(options);
  const clock = deps.clock ?? systemClock;
  const nowMs = deps.nowMs ?? (() => performance.now());
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limit = options.requests ?? Number.POSITIVE_INFINITY;
  const durationMs = options.durationMs ?? null;
  const deadline = durationMs === null ? Number.POSITIVE_INFINITY : clock.now() + durationMs;
  const workers = Math.min(options.concurrency, limit);
  const pool = new Pool(url.origin, {
    connections: workers,
    pipelining: 1,
    connect: { timeout: timeoutMs },
    // The run's own timer bounds each request; undici's would fire on real time only.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const request = {
    method: 'POST' as const,
    path: url.pathname + url.search,
    headers: requestHeaders(options.headers),
    body: options.body,
  };
  const expectStream = options.stream === true;
  const runStart = nowMs();
  const samples: Sample[] = [];
  let started = 0;
  const more = (): boolean =>
    started < limit && options.signal?.aborted !== true && (started === 0 || clock.now() < deadline);

  const one = async (): Promise<Sample> => {
    const t0 = nowMs();
    const ac = new AbortController();
    let timedOut = false;
    const timer = clock.setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
    let status: number | null = null;
    let tier: string | null = null;
    let firstByteMs: number | null = null;
    let error: ErrorKind | null = null;
    try {
      const res = await pool.request({ ...request, signal: ac.signal });
      status = res.statusCode;
      const t = res.headers['x-breakwater-tier'];
      tier = typeof t === 'string' ? t : Array.isArray(t) ? (t[0] ?? NO_TIER) : NO_TIER;
      const framing = status >= 200 && status < 300 ? framingOf(res.headers['content-type']) : null;
      if (framing === null) {
        for await (const _chunk of res.body);
        if (status < 200 || status >= 300) error = ErrorKind.NON_2XX;
        else if (expectStream) error = ErrorKind.STREAM;
      } else {
        const check = new StreamCheck(framing);
        for await (const chunk of res.body) {
          firstByteMs ??= nowMs() - t0;
          check.push(chunk as Buffer);
        }
        if (!check.end()) error = ErrorKind.STREAM;
      }
    } catch (err) {
      if (timedOut) error = ErrorKind.TIMEOUT;
      else if (status !== null) error = status >= 200 && status < 300 ? ErrorKind.STREAM : ErrorKind.NON_2XX;
      else error = isConnectError(err) ? ErrorKind.CONNECT : ErrorKind.SOCKET;
    } finally {
      clock.clearTimeout(timer);
    }
    return { startMs: t0 - runStart, latencyMs: nowMs() - t0, firstByteMs, status, tier, error };
  };

  const worker = async (): Promise<void> => {
    while (more()) {
      started++;
      samples.push(await one());
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    await pool.close();
  }
  return { samples, summary: summarize(samples, nowMs() - runStart) };
}
