import { randomBytes } from 'node:crypto';
import { Endpoint } from '../protocol/index.ts';
import type { CachedAnswer, CachedChoice, GenerationAnswer } from './answer.ts';
import type { CacheRequest } from './types.ts';

/** An answer rendered for one request: content type and whole body. */
export interface Rendered {
  readonly contentType: string;
  readonly body: string;
}

const JSON_TYPE = 'application/json';
const SSE_TYPE = 'text/event-stream';
const NDJSON_TYPE = 'application/x-ndjson';

/** Ids of replayed answers: unique per process (random prefix) and per answer (counter). */
const ID_PREFIX = randomBytes(4).toString('hex');
let idSeq = 0;
const nextId = (prefix: string): string => `${prefix}-cache-${ID_PREFIX}${(idSeq++).toString(36)}`;

const finishOf = (c: CachedChoice): string => c.finishReason ?? 'stop';

function openAiMessage(c: CachedChoice): Record<string, unknown> {
  const m: Record<string, unknown> = {
    role: c.role,
    content: c.content === '' && c.toolCalls !== null ? null : c.content,
    refusal: null,
  };
  if (c.reasoning !== null) m.reasoning_content = c.reasoning;
  if (c.toolCalls !== null) m.tool_calls = c.toolCalls;
  return m;
}

function includeUsage(req: CacheRequest): boolean {
  const so = req.json?.stream_options;
  return typeof so === 'object' && so !== null && (so as { include_usage?: unknown }).include_usage === true;
}

function openAi(a: GenerationAnswer, req: CacheRequest, model: string, storedAtMs: number): Rendered {
  const chat = a.endpoint === Endpoint.CHAT;
  const id = nextId(chat ? 'chatcmpl' : 'cmpl');
  const created = Math.floor(storedAtMs / 1000);
  if (!req.stream) {
    const choices = a.choices.map((c) =>
      chat
        ? { index: c.index, message: openAiMessage(c), logprobs: null, finish_reason: finishOf(c) }
        : { index: c.index, text: c.content, logprobs: null, finish_reason: finishOf(c) },
    );
    const body: Record<string, unknown> = {
      id,
      object: chat ? 'chat.completion' : 'text_completion',
      created,
      model,
      choices,
    };
    if (a.usage !== null) body.usage = a.usage;
    return { contentType: JSON_TYPE, body: JSON.stringify(body) };
  }
  const object = chat ? 'chat.completion.chunk' : 'text_completion';
  let out = '';
  const event = (choices: unknown[], usage?: unknown): void => {
    const chunk: Record<string, unknown> = { id, object, created, model, choices };
    if (usage !== undefined) chunk.usage = usage;
    out += `data: ${JSON.stringify(chunk)}\n\n`;
  };
  for (const c of a.choices) {
    const i = c.index;
    if (chat) {
      // The shape OpenAI streams: a role chunk, content chunks, then a chunk carrying only the finish.
      event([{ index: i, delta: { role: c.role, content: '' }, logprobs: null, finish_reason: null }]);
      if (c.reasoning !== null) {
        event([{ index: i, delta: { reasoning_content: c.reasoning }, logprobs: null, finish_reason: null }]);
      }
      if (c.content !== '')
        event([{ index: i, delta: { content: c.content }, logprobs: null, finish_reason: null }]);
      if (c.toolCalls !== null) {
        const toolCalls = c.toolCalls.map((t, n) => ({ index: n, ...(t as Record<string, unknown>) }));
        event([{ index: i, delta: { tool_calls: toolCalls }, logprobs: null, finish_reason: null }]);
      }
      event([{ index: i, delta: {}, logprobs: null, finish_reason: finishOf(c) }]);
    } else {
      if (c.content !== '') event([{ index: i, text: c.content, logprobs: null, finish_reason: null }]);
      event([{ index: i, text: '', logprobs: null, finish_reason: finishOf(c) }]);
    }
  }
  if (a.usage !== null && includeUsage(req)) event([], a.usage);
  return { contentType: SSE_TYPE, body: out + 'data: [DONE]\n\n' };
}

function ollama(a: GenerationAnswer, req: CacheRequest, model: string, storedAtMs: number): Rendered {
  const c = a.choices[0]!;
  const chat = a.endpoint === Endpoint.OLLAMA_CHAT;
  const created_at = new Date(storedAtMs).toISOString();
  const content: Record<string, unknown> = {};
  if (chat) {
    const message: Record<string, unknown> = { role: c.role, content: c.content };
    if (c.reasoning !== null) message.thinking = c.reasoning;
    if (c.toolCalls !== null) message.tool_calls = c.toolCalls;
    content.message = message;
  } else {
    content.response = c.content;
    if (c.reasoning !== null) content.thinking = c.reasoning;
  }
  const end = { done: true, done_reason: finishOf(c), ...a.usage };
  if (!req.stream)
    return { contentType: JSON_TYPE, body: JSON.stringify({ model, created_at, ...content, ...end }) };
  const last = chat ? { message: { role: c.role, content: '' } } : { response: '' };
  const body =
    JSON.stringify({ model, created_at, ...content, done: false }) +
    '\n' +
    JSON.stringify({ model, created_at, ...last, ...end }) +
    '\n';
  return { contentType: NDJSON_TYPE, body };
}

/**
 * An answer in the request's protocol: the whole JSON body, or, when the request asked for a
 * stream, a replay (OpenAI SSE ending in `data: [DONE]`, Ollama NDJSON ending in a `done: true`
 * line). Embeddings are always their JSON body. Null when the stored answer belongs to another
 * endpoint than the request's.
 */
export function renderAnswer(answer: CachedAnswer, req: CacheRequest, storedAtMs: number): Rendered | null {
  if (answer.endpoint !== req.endpoint.endpoint) return null;
  if (answer.kind === 'body') return { contentType: answer.contentType, body: answer.body };
  const model = answer.model ?? req.model ?? 'unknown';
  switch (answer.endpoint) {
    case Endpoint.CHAT:
    case Endpoint.COMPLETIONS:
      return openAi(answer, req, model, storedAtMs);
    case Endpoint.OLLAMA_CHAT:
    case Endpoint.OLLAMA_GENERATE:
      return ollama(answer, req, model, storedAtMs);
    default:
      return null;
  }
}
