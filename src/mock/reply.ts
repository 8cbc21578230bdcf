import type { MockConfig, MockKind } from './types.ts';

/** Dimension of mock embeddings. */
export const EMBEDDING_DIM = 8;

/** Default reply template; `{kind}` and `{model}` are replaced. */
export const DEFAULT_REPLY_TEXT = 'Hello from mock-{kind} (model {model}).';

/** The reply for one model, computed once per model and configuration. */
export interface ModelReply {
  /** The whole reply text. */
  readonly text: string;
  /** JSON string literal of `text` (quotes included). */
  readonly textJson: string;
  /** JSON string literal of `model`. */
  readonly modelJson: string;
  /** JSON string literals of the content chunks (quotes included), in order. */
  readonly chunksJson: readonly string[];
  /** Completion tokens reported in usage: one per chunk. */
  readonly completionTokens: number;
}

const CACHE_LIMIT = 256;

/**
 * Caches replies per model so the request path only concatenates precomputed JSON pieces.
 * Rebuilt whole when the configuration changes; cleared when it grows past 256 models.
 */
export class ReplyCache {
  readonly #kind: MockKind;
  #config: MockConfig;
  #byModel = new Map<string, ModelReply>();

  constructor(kind: MockKind, config: MockConfig) {
    this.#kind = kind;
    this.#config = config;
  }

  setConfig(config: MockConfig): void {
    this.#config = config;
    this.#byModel = new Map();
  }

  get(model: string): ModelReply {
    let r = this.#byModel.get(model);
    if (r !== undefined) return r;
    if (this.#byModel.size >= CACHE_LIMIT) this.#byModel.clear();
    const text = this.#config.replyText.replaceAll('{kind}', this.#kind).replaceAll('{model}', model);
    const chunks = splitText(text, this.#config.streamChunks);
    r = {
      text,
      textJson: JSON.stringify(text),
      modelJson: JSON.stringify(model),
      chunksJson: chunks.map((c) => JSON.stringify(c)),
      completionTokens: chunks.length,
    };
    this.#byModel.set(model, r);
    return r;
  }
}

/** Splits `text` into `n` pieces of near-equal length (by code point); fewer when the text is shorter. */
export function splitText(text: string, n: number): string[] {
  const chars = Array.from(text);
  const count = Math.max(1, Math.min(n, chars.length));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * chars.length) / count);
    const to = Math.floor(((i + 1) * chars.length) / count);
    out.push(chars.slice(from, to).join(''));
  }
  return out;
}

/** A deterministic prompt-token count: one per 4 characters of text content, at least 1. */
export function promptTokens(value: unknown): number {
  return Math.max(1, Math.ceil(textLength(value, 0) / 4));
}

function textLength(value: unknown, depth: number): number {
  if (typeof value === 'string') return value.length;
  if (depth > 4 || value === null || typeof value !== 'object') return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const v of value) n += textLength(v, depth + 1);
    return n;
  }
  const content = (value as { content?: unknown }).content;
  return content === undefined ? 0 : textLength(content, depth + 1);
}

/**
 * A unit-length vector of {@link EMBEDDING_DIM} floats derived from `input` (FNV-1a seed, xorshift):
 * the same input always gives the same vector, different inputs almost surely differ.
 */
export function embed(input: unknown): number[] {
  const s = typeof input === 'string' ? input : JSON.stringify(input);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let x = h || 1;
  const v: number[] = [];
  let norm = 0;
  for (let i = 0; i < EMBEDDING_DIM; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const f = x / 0xffffffff - 0.5;
    v.push(f);
    norm += f * f;
  }
  const k = 1 / Math.sqrt(norm || 1);
  for (let i = 0; i < v.length; i++) v[i] = Math.fround(v[i]! * k);
  return v;
}

/** The OpenAI `encoding_format: "base64"` form: little-endian float32 bytes, base64. */
export function embeddingBase64(v: readonly number[]): string {
  return Buffer.from(new Float32Array(v).buffer).toString('base64');
}

/** The inputs of an embedding request (`input` string or array; Ollama's legacy `prompt`). */
export function embeddingInputs(input: unknown): unknown[] {
  if (Array.isArray(input)) {
    // A flat array of token ids is one input; an array of strings or of id arrays is many.
    return input.length > 0 && typeof input[0] === 'number' ? [input] : input;
  }
  return input === undefined || input === null || input === '' ? [] : [input];
}

/** Ollama's model name form: a missing tag means `:latest`. */
export function ollamaModelName(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}
