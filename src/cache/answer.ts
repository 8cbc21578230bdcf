import type { Endpoint } from '../protocol/index.ts';
import type { RecordedAnswer } from '../upstream/index.ts';

/** One generated choice, protocol-neutral enough to be replayed whole or as a stream. */
export interface CachedChoice {
  readonly index: number;
  /** `assistant` in practice. */
  readonly role: string;
  /** The generated text (`''` when the answer is only tool calls). */
  readonly content: string;
  /** Reasoning text: OpenAI-compatible `reasoning_content`, Ollama `thinking`; null when none. */
  readonly reasoning: string | null;
  /** Whole tool calls in the protocol's own shape (OpenAI deltas already merged); null when none. */
  readonly toolCalls: readonly unknown[] | null;
  /** OpenAI `finish_reason` / Ollama `done_reason`. */
  readonly finishReason: string | null;
}

/** A chat or completion answer, assembled from a JSON body, SSE deltas or NDJSON lines. */
export interface GenerationAnswer {
  readonly v: 1;
  readonly kind: 'generation';
  readonly endpoint: Endpoint;
  /** The model the upstream named in its answer, or null when it named none. */
  readonly model: string | null;
  readonly choices: readonly CachedChoice[];
  /**
   * Usage in the protocol's own shape: the OpenAI `usage` object, or Ollama's counters and
   * durations (`prompt_eval_count`, `eval_count`, `total_duration`, …); null when none.
   */
  readonly usage: Readonly<Record<string, unknown>> | null;
}

/** An answer kept as its JSON body (embeddings): served as is, never streamed. */
export interface BodyAnswer {
  readonly v: 1;
  readonly kind: 'body';
  readonly endpoint: Endpoint;
  readonly contentType: string;
  readonly body: string;
}

/** What the cache stores for one request: the canonical form of an upstream answer. */
export type CachedAnswer = GenerationAnswer | BodyAnswer;

/**
 * The stored bytes of a recorded answer: one JSON line naming the stored format, status, content
 * type and framing, then the body exactly as recorded. Assembling (parsing every event of a
 * stream) waits until the answer is served — rare — instead of costing every write: on a 20-event
 * stream that parse was ~10 % of the proxy's CPU.
 */
export function encodeRecorded(recorded: RecordedAnswer): Buffer {
  const head = JSON.stringify({
    v: 2,
    status: recorded.status,
    contentType: recorded.contentType,
    framing: recorded.framing,
  });
  return Buffer.concat([Buffer.from(head + '\n', 'utf8'), recorded.body]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The recorded answer in stored bytes, or null when they are not of the current format (an entry
 * written by another version is a miss, not an error).
 */
export function decodeRecorded(bytes: Buffer): RecordedAnswer | null {
  const nl = bytes.indexOf(0x0a);
  if (nl === -1) return null;
  let head: unknown;
  try {
    head = JSON.parse(bytes.toString('utf8', 0, nl));
  } catch {
    return null;
  }
  if (
    !isObject(head) ||
    head.v !== 2 ||
    typeof head.status !== 'number' ||
    typeof head.contentType !== 'string'
  )
    return null;
  const framing = head.framing === 'sse' || head.framing === 'ndjson' ? head.framing : null;
  return { status: head.status, contentType: head.contentType, framing, body: bytes.subarray(nl + 1) };
}
