import type { Clock } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';

/** Which upstream a mock stands in for. */
export const MockKind = {
  /** Modular MAX Serve: OpenAI-compatible API on `/v1`, `GET /health`. */
  MAX: 'max',
  /** Ollama: native NDJSON API on `/api`, OpenAI-compatible API on `/v1`. */
  OLLAMA: 'ollama',
} as const;
export type MockKind = (typeof MockKind)[keyof typeof MockKind];

/** Fault modes the mock can inject (see docs/mock.md for what a client observes for each). */
export const FaultMode = {
  NONE: 'none',
  /** Answer `status` (default 503) with the protocol's error body, or `body` when given. */
  STATUS: 'status',
  /** Close the listening socket: connects get ECONNREFUSED until the fault is cleared. */
  REFUSE: 'refuse',
  /** Accept the request, then reset the socket before any response (ECONNRESET). */
  RESET: 'reset',
  /** Never answer: no headers, the socket stays open. */
  HANG: 'hang',
  /** Delay the first token by `delayMs`: stream headers go at once, the first event after the delay. */
  SLOW: 'slow',
  /** Stream `afterChunks` events, then reset the socket. */
  RESET_MID_STREAM: 'reset-mid-stream',
  /** Stream: an in-band error event first, then end. Non-stream: 500 with the error body. */
  IN_BAND_ERROR: 'in-band-error',
  /** Stream `afterChunks` events, then go silent with the socket open. */
  STALL_MID_STREAM: 'stall-mid-stream',
  /** Stream `afterChunks` events, then a line that is not valid JSON, then end. */
  MALFORMED: 'malformed',
} as const;
export type FaultMode = (typeof FaultMode)[keyof typeof FaultMode];

/**
 * A fault to inject. Only `mode` is required; the other fields default per mode.
 * `refuse` takes no `count` or `pathPrefix` (it closes the whole listener).
 */
export interface FaultSpec {
  readonly mode: FaultMode;
  /** HTTP status of `status` mode; default 503. */
  readonly status?: number;
  /** Wait before acting, in ms: the first-token delay of `slow` (default 10 000), or a delay before `status` / `in-band-error` (default 0). */
  readonly delayMs?: number;
  /** Events (SSE events / NDJSON lines) sent before a mid-stream fault; default 2. */
  readonly afterChunks?: number;
  /** Apply to the next N matching requests, then revert to `none`; default: until cleared. */
  readonly count?: number;
  /**
   * Only requests whose path starts with this prefix. Default: every LLM call (generation and
   * embedding endpoints); `refuse`, `reset` and `hang` default to every path on the main port.
   * Control routes (`/_mock/…`) are never hit.
   */
  readonly pathPrefix?: string;
  /** Body of `status` mode: a string is sent as is, anything else as JSON. Default: the protocol's error body. */
  readonly body?: unknown;
}

/** What the mock answers; changeable at run time with `configure()` or `PUT /_mock/config`. */
export interface MockConfig {
  /** Content chunks a reply is split into (at most one per character); default 8. */
  readonly streamChunks: number;
  /** Delay between stream events in ms; default 0 (all events in one write). */
  readonly chunkDelayMs: number;
  /** Reply text; `{kind}` and `{model}` are replaced. Default `Hello from mock-{kind} (model {model}).` */
  readonly replyText: string;
  /** Models served, first is the default. Default `['llama-3.1-8b']` (max), `['llama3.1:8b']` (ollama). */
  readonly models: readonly string[];
  /** Reject models not in `models` the way the real server does; default false (any model accepted). */
  readonly strictModels: boolean;
}

/** Options of `startMock`. */
export interface MockOptions {
  /** Which server to imitate. */
  kind: MockKind;
  /** Address of both listeners; default `127.0.0.1`. */
  host?: string;
  /** Port of the API listener; default 0 (any free port). */
  port?: number;
  /** Port of the control listener; default 0 (any free port). */
  controlPort?: number;
  /** Fault active from the start; default none. */
  fault?: FaultSpec;
  /** See {@link MockConfig.streamChunks}; default 8. */
  streamChunks?: number;
  /** See {@link MockConfig.chunkDelayMs}; default 0. */
  chunkDelayMs?: number;
  /** See {@link MockConfig.replyText}. */
  replyText?: string;
  /** See {@link MockConfig.models}. */
  models?: string[];
  /** See {@link MockConfig.strictModels}; default false. */
  strictModels?: boolean;
  /** Logger for fault changes and listener events; default silent. */
  logger?: Logger;
  /** Time source of every delay (chunk delays, `slow`); default the system clock. */
  clock?: Clock;
}

/** The last request the API listener received (control routes excluded). */
export interface MockRequestRecord {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, the raw text when it is not JSON, or null when empty or not read (reset/hang). */
  readonly body: unknown;
}

/** Request counters of the API listener (control routes excluded). */
export interface MockStats {
  /** Requests received, including those a fault hit. */
  requests: number;
  /** Requests a fault hit. */
  faulted: number;
  /** Requests per path (query string excluded). */
  byPath: Record<string, number>;
  last: MockRequestRecord | null;
  /** Requests whose response has not closed yet (hanging ones included). */
  inflight: number;
  /** The most requests in flight at once since the last reset (the fleet budget tests read it). */
  peakInflight: number;
}

/** A running mock upstream. */
export interface MockServer {
  readonly kind: MockKind;
  /** Base URL of the API listener, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  readonly port: number;
  /** Base URL of the control listener. */
  readonly controlUrl: string;
  /** Replace the active fault; resolves once it is in force (for `refuse`, once the listener is closed). */
  setFault(fault: FaultSpec): Promise<void>;
  /** Same as `setFault({ mode: 'none' })`; listens again on the same port after `refuse`. */
  clearFault(): Promise<void>;
  /** The active fault; `count` is what remains of it. */
  fault(): FaultSpec;
  /** A snapshot of the counters. */
  stats(): MockStats;
  /**
   * Resolves once `count` requests (counted since the last reset) have reached their handler —
   * for a delayed or faulted reply, once the delay is scheduled or the fault applied. For tests
   * that must not sleep.
   */
  waitForRequests(count: number): Promise<MockStats>;
  resetStats(): void;
  /** Change what the mock answers; throws on invalid values. */
  configure(config: Partial<MockConfig>): void;
  /** The active configuration. */
  config(): MockConfig;
  /** Close both listeners and end every open socket (hanging and stalled ones included). */
  close(): Promise<void>;
}
