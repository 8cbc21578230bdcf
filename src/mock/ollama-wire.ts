import { createHash } from 'node:crypto';
import { embed, embeddingInputs, type ModelReply } from './reply.ts';
import {
  OLLAMA_JSON_TYPE,
  STREAM_HEADERS,
  WireStyle,
  jsonReply,
  type JsonReply,
  type StreamReply,
} from './wire.ts';

/** Version reported by `GET /api/version`. */
export const OLLAMA_MOCK_VERSION = '0.0.0';

/** What a native generation endpoint needs to know about one request. */
export interface NativeGeneration {
  /** RFC 3339 time of the response. */
  readonly createdAt: string;
  readonly reply: ModelReply;
  readonly promptTokens: number;
}

const NS_PER_MS = 1_000_000;

/** The timing and count fields of a final line; durations in ns, derived from the counts. */
function metrics(g: NativeGeneration): string {
  const load = NS_PER_MS;
  const promptEval = g.promptTokens * NS_PER_MS;
  const evalNs = g.reply.completionTokens * 2 * NS_PER_MS;
  return (
    `"total_duration":${load + promptEval + evalNs},"load_duration":${load},` +
    `"prompt_eval_count":${g.promptTokens},"prompt_eval_duration":${promptEval},` +
    `"eval_count":${g.reply.completionTokens},"eval_duration":${evalNs}`
  );
}

function head(g: NativeGeneration): string {
  return `{"model":${g.reply.modelJson},"created_at":"${g.createdAt}"`;
}

/** `POST /api/chat`, streamed (the default): one line per chunk, then a `done: true` line with metrics. */
export function chatStream(g: NativeGeneration): StreamReply {
  const h = `${head(g)},"message":{"role":"assistant","content":`;
  const events: string[] = [];
  for (const c of g.reply.chunksJson) events.push(`${h}${c}},"done":false}\n`);
  events.push(`${h}""},"done_reason":"stop","done":true,${metrics(g)}}\n`);
  return { stream: true, headers: STREAM_HEADERS[WireStyle.OLLAMA_NATIVE], events };
}

/** `POST /api/chat` with `stream: false`. */
export function chat(g: NativeGeneration): JsonReply {
  const body = `${head(g)},"message":{"role":"assistant","content":${g.reply.textJson}},"done_reason":"stop","done":true,${metrics(g)}}`;
  return jsonReply(200, body, OLLAMA_JSON_TYPE);
}

/** `POST /api/generate`, streamed (the default); the final line carries `context` as Ollama's does. */
export function generateStream(g: NativeGeneration): StreamReply {
  const h = `${head(g)},"response":`;
  const events: string[] = [];
  for (const c of g.reply.chunksJson) events.push(`${h}${c},"done":false}\n`);
  events.push(`${h}"","done":true,"done_reason":"stop","context":[1,2,3],${metrics(g)}}\n`);
  return { stream: true, headers: STREAM_HEADERS[WireStyle.OLLAMA_NATIVE], events };
}

/** `POST /api/generate` with `stream: false`. */
export function generate(g: NativeGeneration): JsonReply {
  const body = `${head(g)},"response":${g.reply.textJson},"done":true,"done_reason":"stop","context":[1,2,3],${metrics(g)}}`;
  return jsonReply(200, body, OLLAMA_JSON_TYPE);
}

/** `POST /api/generate` with an empty prompt: Ollama loads the model and answers `done_reason: "load"`. */
export function generateLoad(modelJson: string, createdAt: string): JsonReply {
  const body = `{"model":${modelJson},"created_at":"${createdAt}","response":"","done":true,"done_reason":"load"}`;
  return jsonReply(200, body, OLLAMA_JSON_TYPE);
}

/** `POST /api/embed`: `{model, embeddings: [[…]]}` plus durations. */
export function embedReply(modelJson: string, input: unknown, promptTokens: number): JsonReply {
  const vectors = embeddingInputs(input).map((i) => JSON.stringify(embed(i)));
  const body =
    `{"model":${modelJson},"embeddings":[${vectors.join(',')}],"total_duration":${NS_PER_MS},` +
    `"load_duration":0,"prompt_eval_count":${promptTokens}}`;
  return jsonReply(200, body, OLLAMA_JSON_TYPE);
}

/** The legacy `POST /api/embeddings` (`prompt` → `{embedding: […]}`). */
export function legacyEmbedding(prompt: unknown): JsonReply {
  const v = typeof prompt === 'string' && prompt !== '' ? embed(prompt) : [];
  return jsonReply(200, `{"embedding":${JSON.stringify(v)}}`, OLLAMA_JSON_TYPE);
}

function details(): string {
  return (
    '{"parent_model":"","format":"gguf","family":"llama","families":["llama"],' +
    '"parameter_size":"8.0B","quantization_level":"Q4_K_M"}'
  );
}

/** `GET /api/tags`, precomputed per model list (digests are the sha256 of the name). */
export function tagsBody(models: readonly string[], modifiedAt: string): string {
  const entries = models.map((m) => {
    const digest = createHash('sha256').update(m).digest('hex');
    const name = JSON.stringify(m);
    return `{"name":${name},"model":${name},"modified_at":"${modifiedAt}","size":4920753328,"digest":"${digest}","details":${details()}}`;
  });
  return `{"models":[${entries.join(',')}]}`;
}

/** `POST /api/show` for a served model. */
export function showBody(modifiedAt: string): string {
  return (
    `{"modelfile":"# mock model\\n","parameters":"","template":"{{ .Prompt }}","details":${details()},` +
    `"model_info":{"general.architecture":"llama"},"capabilities":["completion"],"modified_at":"${modifiedAt}"}`
  );
}
