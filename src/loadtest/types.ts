/** Why one load-test request did not end well. */
export const ErrorKind = {
  /** No connection could be made (refused, unknown host, unreachable, connect timeout): nothing was sent. */
  CONNECT: 'connect_error',
  /** The connection failed after it was made, before the response headers (reset, closed). */
  SOCKET: 'socket_error',
  /** The request did not finish within `timeoutMs` (headers and whole body). */
  TIMEOUT: 'timeout',
  /** The answer's status was not 2xx. */
  NON_2XX: 'non_2xx',
  /**
   * A 2xx stream that did not end well: an in-band error event, a malformed event, no end marker
   * (SSE `data: [DONE]`, NDJSON `done: true`), a connection cut mid-body, or a plain body where a
   * stream was asked for.
   */
  STREAM: 'stream_error',
} as const;
export type ErrorKind = (typeof ErrorKind)[keyof typeof ErrorKind];

/** `tier` of a response without an `x-breakwater-tier` header (an upstream called directly). */
export const NO_TIER = '-';

/** What one request of a load test observed. Times are in ms, from a high-resolution clock. */
export interface Sample {
  /** When the request was started, in ms since the start of the run. */
  readonly startMs: number;
  /** From start to the end of the response body, or to the failure, in ms. */
  readonly latencyMs: number;
  /** From start to the first body byte of a stream response, in ms; null for non-stream answers and failures before a byte. */
  readonly firstByteMs: number | null;
  /** HTTP status, or null when no response headers arrived. */
  readonly status: number | null;
  /** `x-breakwater-tier` of the response, {@link NO_TIER} when absent, null when no response arrived. */
  readonly tier: string | null;
  /** Why the request failed, or null when it got a 2xx answer that ended well. */
  readonly error: ErrorKind | null;
}

/** Latency percentiles in ms (nearest-rank). */
export interface LatencyStats {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Time-to-first-byte percentiles of stream responses in ms (nearest-rank). */
export interface FirstByteStats {
  readonly p50: number;
  readonly p99: number;
}

/** Count of one tier and its share of all requests. */
export interface TierCount {
  readonly count: number;
  /** Percent of all requests (not of responses), rounded to 0.1. */
  readonly pct: number;
}

/** The result of a load test, as `--json` prints it (plus the target, see `LoadReport`). */
export interface Summary {
  /** Requests started. */
  readonly requests: number;
  /** Requests that reached the server: all but connect errors. */
  readonly sent: number;
  /** Requests that got response headers. */
  readonly responses: number;
  /** 2xx answers that ended well. */
  readonly ok: number;
  /** Requests with an error of any kind (`requests - ok`). */
  readonly errors: number;
  /** Wall time of the run in ms. */
  readonly durationMs: number;
  /** `requests / duration`, rounded to 0.1. */
  readonly requestsPerSecond: number;
  /** Responses per `x-breakwater-tier` (`-` when absent), most used first. */
  readonly byTier: Readonly<Record<string, TierCount>>;
  /** Responses per HTTP status. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Failed requests per {@link ErrorKind}, most frequent first. */
  readonly errorsByKind: Readonly<Partial<Record<ErrorKind, number>>>;
  /** Latency of requests that got a response (any status, errors after headers included); null when none did. */
  readonly latencyMs: LatencyStats | null;
  /** Time to first byte of stream responses; null when there were none. */
  readonly firstByteMs: FirstByteStats | null;
}
