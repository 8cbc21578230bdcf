import type { Endpoint } from '../protocol/index.ts';

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

/** The stored bytes of an answer. */
export function encodeAnswer(answer: CachedAnswer): Buffer {
  return Buffer.from(JSON.stringify(answer), 'utf8');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The answer in stored bytes, or null when they are not a current-format answer (an entry written
 * by another version is a miss, not an error).
 */
export function decodeAnswer(bytes: Buffer): CachedAnswer | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (!isObject(parsed) || parsed.v !== 1 || typeof parsed.endpoint !== 'string') return null;
  if (parsed.kind === 'generation' && Array.isArray(parsed.choices) && parsed.choices.length > 0) {
    return parsed as unknown as GenerationAnswer;
  }
  if (parsed.kind === 'body' && typeof parsed.body === 'string' && typeof parsed.contentType === 'string') {
    return parsed as unknown as BodyAnswer;
  }
  return null;
}
