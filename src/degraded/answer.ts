import { Endpoint, type EndpointInfo } from '../protocol/index.ts';

/** A fully built degraded answer: status, content type and body bytes. */
export interface DegradedAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

let seq = 0;
const nextId = (prefix: string): string =>
  `${prefix}-degraded-${Date.now().toString(36)}${(seq++).toString(36)}`;

/**
 * The degraded tier's answer in the request's own protocol: an OpenAI `chat.completion` /
 * `text_completion` whose text is `message` (a one-event SSE stream ending in `[DONE]` when the
 * request asked for a stream), or an Ollama `/api/chat` / `/api/generate` record (one NDJSON line
 * with `done: true` for streams). Returns null for endpoints with no meaningful degraded form
 * (embeddings): the chain then moves on to its final 503.
 */
export function degradedAnswer(
  ei: EndpointInfo,
  model: string,
  stream: boolean,
  message: string,
  status: number,
  nowMs: number,
): DegradedAnswer | null {
  const ask: Ask = { model, stream, message, status, nowMs };
  switch (ei.endpoint) {
    case Endpoint.CHAT:
      return chat(ask);
    case Endpoint.COMPLETIONS:
      return completion(ask);
    case Endpoint.OLLAMA_CHAT:
    case Endpoint.OLLAMA_GENERATE:
      return ollama(ei.endpoint === Endpoint.OLLAMA_CHAT, ask);
    default:
      return null;
  }
}

/** What every protocol's degraded answer is built from. */
interface Ask {
  readonly model: string;
  readonly stream: boolean;
  readonly message: string;
  readonly status: number;
  readonly nowMs: number;
}

function chat({ model, stream, message, status, nowMs }: Ask): DegradedAnswer {
  const id = nextId('chatcmpl');
  const created = Math.floor(nowMs / 1000);
  if (!stream) {
    const body = {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: message }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    };
    return { status, contentType: 'application/json', body: JSON.stringify(body) };
  }
  const chunk = {
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta: { role: 'assistant', content: message }, finish_reason: 'stop' }],
  };
  return sse(status, chunk);
}

function completion({ model, stream, message, status, nowMs }: Ask): DegradedAnswer {
  const id = nextId('cmpl');
  const created = Math.floor(nowMs / 1000);
  const choice = { index: 0, text: message, finish_reason: 'stop', logprobs: null };
  const body = { id, object: 'text_completion', created, model, choices: [choice] };
  if (stream) return sse(status, body);
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  return { status, contentType: 'application/json', body: JSON.stringify({ ...body, usage }) };
}

function ollama(isChat: boolean, { model, stream, message, status, nowMs }: Ask): DegradedAnswer {
  const created_at = new Date(nowMs).toISOString();
  const content = isChat ? { message: { role: 'assistant', content: message } } : { response: message };
  const body = { model, created_at, ...content, done: true, done_reason: 'stop' };
  return stream
    ? { status, contentType: 'application/x-ndjson', body: JSON.stringify(body) + '\n' }
    : { status, contentType: 'application/json', body: JSON.stringify(body) };
}

function sse(status: number, event: unknown): DegradedAnswer {
  return {
    status,
    contentType: 'text/event-stream',
    body: `data: ${JSON.stringify(event)}\n\ndata: [DONE]\n\n`,
  };
}
