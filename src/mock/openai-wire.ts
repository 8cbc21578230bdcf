import { embed, embeddingBase64, embeddingInputs, type ModelReply } from './reply.ts';
import { JSON_TYPE, STREAM_HEADERS, WireStyle, jsonReply, type JsonReply, type StreamReply } from './wire.ts';

/** What a generation endpoint needs to know about one request. */
export interface Generation {
  /** Response id (`chatcmpl-…` / `cmpl-…`). */
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  readonly reply: ModelReply;
  readonly promptTokens: number;
  /** Add the usage chunk before `[DONE]` (`stream_options.include_usage`). */
  readonly includeUsage: boolean;
}

/** `style` is MAX or Ollama's OpenAI layer; Ollama adds `system_fingerprint: "fp_ollama"`. */
function head(style: WireStyle, g: Generation, object: string): string {
  const fp = style === WireStyle.OLLAMA_OPENAI ? ',"system_fingerprint":"fp_ollama"' : '';
  return `{"id":"${g.id}","object":"${object}","created":${g.created},"model":${g.reply.modelJson}${fp}`;
}

function usage(g: Generation): string {
  const c = g.reply.completionTokens;
  return `{"prompt_tokens":${g.promptTokens},"completion_tokens":${c},"total_tokens":${g.promptTokens + c}}`;
}

/** `POST /v1/chat/completions` without `stream`. */
export function chatCompletion(style: WireStyle, g: Generation): JsonReply {
  const body =
    `${head(style, g, 'chat.completion')},"choices":[{"index":0,"message":{"role":"assistant","content":` +
    `${g.reply.textJson}},"logprobs":null,"finish_reason":"stop"}],"usage":${usage(g)}}`;
  return jsonReply(200, body);
}

/**
 * `POST /v1/chat/completions` with `stream: true`: a role event, one event per content chunk, a
 * `finish_reason: "stop"` event, the usage event when asked, then `[DONE]`.
 */
export function chatCompletionStream(style: WireStyle, g: Generation): StreamReply {
  const h = `data: ${head(style, g, 'chat.completion.chunk')},"choices":[{"index":0,"delta":`;
  const chunks = g.reply.chunksJson;
  const events: string[] = [
    `${h}{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`,
  ];
  for (const c of chunks) events.push(`${h}{"content":${c}},"logprobs":null,"finish_reason":null}]}\n\n`);
  events.push(`${h}{},"logprobs":null,"finish_reason":"stop"}]}\n\n`);
  if (g.includeUsage) {
    events.push(`data: ${head(style, g, 'chat.completion.chunk')},"choices":[],"usage":${usage(g)}}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  return { stream: true, headers: STREAM_HEADERS[style], events };
}

/** `POST /v1/completions` without `stream`. */
export function completion(style: WireStyle, g: Generation): JsonReply {
  const body =
    `${head(style, g, 'text_completion')},"choices":[{"index":0,"text":${g.reply.textJson},` +
    `"logprobs":null,"finish_reason":"stop"}],"usage":${usage(g)}}`;
  return jsonReply(200, body);
}

/** `POST /v1/completions` with `stream: true`: one event per chunk, a final `finish_reason` event, `[DONE]`. */
export function completionStream(style: WireStyle, g: Generation): StreamReply {
  const h = `data: ${head(style, g, 'text_completion')},"choices":[{"index":0,"text":`;
  const events: string[] = [];
  for (const c of g.reply.chunksJson) events.push(`${h}${c},"logprobs":null,"finish_reason":null}]}\n\n`);
  events.push(`${h}"","logprobs":null,"finish_reason":"stop"}]}\n\n`);
  if (g.includeUsage) {
    events.push(`data: ${head(style, g, 'text_completion')},"choices":[],"usage":${usage(g)}}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  return { stream: true, headers: STREAM_HEADERS[style], events };
}

/** `POST /v1/embeddings`: one vector per input; base64 when `encoding_format: "base64"` (the openai SDK default). */
export function embeddings(
  modelJson: string,
  input: unknown,
  base64: boolean,
  promptTokens: number,
): JsonReply {
  const inputs = embeddingInputs(input);
  const data: string[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const v = embed(inputs[i]);
    const e = base64 ? `"${embeddingBase64(v)}"` : JSON.stringify(v);
    data.push(`{"object":"embedding","index":${i},"embedding":${e}}`);
  }
  const body =
    `{"object":"list","data":[${data.join(',')}],"model":${modelJson},` +
    `"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens}}}`;
  return jsonReply(200, body);
}

/** One entry of `GET /v1/models`: MAX reports `owned_by: ""`, Ollama the model's namespace. */
export function modelObject(style: WireStyle, id: string, created: number): string {
  const owner = style === WireStyle.MAX ? '' : id.includes('/') ? id.slice(0, id.indexOf('/')) : 'library';
  return `{"id":${JSON.stringify(id)},"object":"model","created":${created},"owned_by":"${owner}"}`;
}

/** `GET /v1/models`. */
export function modelList(style: WireStyle, models: readonly string[], created: number): JsonReply {
  const data = models.map((m) => modelObject(style, m, created)).join(',');
  return jsonReply(200, `{"object":"list","data":[${data}]}`, JSON_TYPE);
}
