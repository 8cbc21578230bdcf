import { Framing, Protocol, answerUsage, type TokenUsage } from '../protocol/index.ts';

/**
 * What a call read of its answer's tokens (docs/operations.md#tokens), handed to the chain with an
 * `ok` outcome: the usage the upstream reported, the stream events relayed (the estimate when no
 * completion count came), and how long the output took.
 */
export interface TokenReading {
  /** Usage the upstream reported in a 2xx answer; null when absent, malformed or not a success. */
  readonly usage: TokenUsage | null;
  /** Stream events relayed, end marker excluded; 0 for a whole answer. */
  readonly events: number;
  /**
   * ms over which the output came: from the first token to the last event of a stream, from
   * dispatch to the whole body of a whole answer; -1 when unknown.
   */
  readonly outputMs: number;
}

/** Something that takes observations, in seconds (a histogram child). */
export interface SecondsObserver {
  observe(seconds: number): void;
}

/** The reading of a whole answer: usage from the end of a 2xx body (bounded, `USAGE_TAIL_BYTES`). */
export function wholeTokens(
  protocol: Protocol,
  status: number,
  body: Buffer,
  elapsedMs: number,
): TokenReading {
  const usage = status >= 200 && status < 300 ? answerUsage(protocol, body) : null;
  return { usage, events: 0, outputMs: elapsedMs };
}

/**
 * The usage of a finished stream: in its last event-carrying slice or the one before (OpenAI's
 * usage chunk may arrive apart from `[DONE]`; Ollama's counts are in its `done` record). The
 * framing says the shape: SSE is OpenAI's, NDJSON Ollama's.
 */
export function streamUsage(framing: Framing, last: Buffer | null, before: Buffer | null): TokenUsage | null {
  const protocol = framing === Framing.NDJSON ? Protocol.OLLAMA : Protocol.OPENAI;
  const usage = last === null ? null : answerUsage(protocol, last);
  return usage ?? (before === null ? null : answerUsage(protocol, before));
}
