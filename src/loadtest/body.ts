import { Endpoint, Protocol, endpointOf } from '../protocol/index.ts';

/** Default `model` of OpenAI-shaped bodies (MAX Serve's name for Llama 3.1 8B). */
export const DEFAULT_OPENAI_MODEL = 'llama-3.1-8b';
/** Default `model` of Ollama native bodies (`/api/chat`, `/api/generate`): Ollama's name for the same model. */
export const DEFAULT_OLLAMA_MODEL = 'llama3.1:8b';
/** Default prompt of generated bodies. */
export const DEFAULT_PROMPT = 'Hello';

/** What to put in a generated request body. */
export interface BodyOptions {
  /** Model name; default {@link DEFAULT_OPENAI_MODEL}, or {@link DEFAULT_OLLAMA_MODEL} for Ollama native paths. */
  readonly model?: string;
  /** User message or prompt; default {@link DEFAULT_PROMPT}. */
  readonly prompt?: string;
  /** Ask for a streamed answer; default false. */
  readonly stream?: boolean;
}

/**
 * The JSON body of one request to `path`, in the shape of its endpoint: an OpenAI chat request
 * (any path that is not another known endpoint), `prompt` for `/completions` and Ollama
 * `/api/generate`, `input` for embeddings. Ollama native chat and generate always carry `stream`
 * (they stream when it is absent); OpenAI bodies carry `"stream": true` only when asked.
 */
export function defaultBody(path: string, options: BodyOptions = {}): Record<string, unknown> {
  const info = endpointOf('POST', path);
  const endpoint = info?.endpoint ?? Endpoint.CHAT;
  const ollama = endpoint === Endpoint.OLLAMA_CHAT || endpoint === Endpoint.OLLAMA_GENERATE;
  const model =
    options.model ?? (info?.protocol === Protocol.OLLAMA ? DEFAULT_OLLAMA_MODEL : DEFAULT_OPENAI_MODEL);
  const prompt = options.prompt ?? DEFAULT_PROMPT;
  const stream = options.stream === true;
  const messages = [{ role: 'user', content: prompt }];
  switch (endpoint) {
    case Endpoint.COMPLETIONS:
    case Endpoint.OLLAMA_GENERATE:
      return { model, prompt, ...((stream || ollama) && { stream }) };
    case Endpoint.EMBEDDINGS:
    case Endpoint.OLLAMA_EMBED:
    case Endpoint.OLLAMA_EMBEDDINGS:
      return endpoint === Endpoint.OLLAMA_EMBEDDINGS ? { model, prompt } : { model, input: prompt };
    default:
      return { model, messages, ...((stream || ollama) && { stream }) };
  }
}

/**
 * Whether the answer to `body` sent to `path` is a stream: `stream: true`, or `stream` absent on an
 * Ollama native chat/generate path (Ollama streams by default).
 */
export function asksForStream(path: string, body: unknown): boolean {
  const stream =
    typeof body === 'object' && body !== null ? (body as { stream?: unknown }).stream : undefined;
  if (stream !== undefined) return stream === true;
  return endpointOf('POST', path)?.streamsByDefault === true;
}
