import { describe, expect, it } from 'vitest';
import { renderAnswer, type CachedAnswer, type GenerationAnswer } from '../../src/cache/index.ts';
import { cacheRequest } from './helpers.ts';

const STORED_AT = Date.UTC(2025, 0, 2, 3, 4, 5);

const chat: GenerationAnswer = {
  v: 1,
  kind: 'generation',
  endpoint: 'chat',
  model: 'max-model',
  choices: [
    { index: 0, role: 'assistant', content: 'Hello', reasoning: null, toolCalls: null, finishReason: 'stop' },
  ],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
};

function events(body: string): unknown[] {
  expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
  return body
    .split('\n\n')
    .filter((e) => e !== '' && e !== 'data: [DONE]')
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return JSON.parse(e.slice(6)) as unknown;
    });
}

describe('renderAnswer', () => {
  it('renders a chat.completion when the request did not ask for a stream', () => {
    const r = renderAnswer(chat, cacheRequest('/v1/chat/completions', { model: 'asked' }), STORED_AT)!;
    expect(r.contentType).toBe('application/json');
    const body = JSON.parse(r.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: 'chat.completion',
      created: Math.floor(STORED_AT / 1000),
      model: 'max-model',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }],
      usage: chat.usage,
    });
    expect(body.id).toMatch(/^chatcmpl-cache-/);
  });

  it('replays role, content and finish chunks then [DONE] when the request asked for a stream', () => {
    const r = renderAnswer(
      chat,
      cacheRequest('/v1/chat/completions', { model: 'asked', stream: true }),
      STORED_AT,
    )!;
    expect(r.contentType).toBe('text/event-stream');
    const ev = events(r.body) as {
      id: string;
      object: string;
      choices: { delta: unknown; finish_reason: unknown }[];
    }[];
    expect(ev.map((e) => e.choices[0]!.delta)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Hello' },
      {},
    ]);
    expect(ev.map((e) => e.choices[0]!.finish_reason)).toEqual([null, null, 'stop']);
    expect(new Set(ev.map((e) => e.id)).size).toBe(1);
    expect(ev.every((e) => e.object === 'chat.completion.chunk')).toBe(true);
  });

  it('adds a usage chunk when the stream request set stream_options.include_usage', () => {
    const req = cacheRequest('/v1/chat/completions', {
      stream: true,
      stream_options: { include_usage: true },
    });
    const ev = events(renderAnswer(chat, req, STORED_AT)!.body) as { choices: unknown[]; usage?: unknown }[];
    expect(ev.at(-1)).toMatchObject({ choices: [], usage: chat.usage });
  });

  it('streams whole tool calls with their index and null content in JSON when the answer is only tool calls', () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } };
    const tools: CachedAnswer = {
      ...chat,
      choices: [
        {
          index: 0,
          role: 'assistant',
          content: '',
          reasoning: null,
          toolCalls: [call],
          finishReason: 'tool_calls',
        },
      ],
    };
    const json = JSON.parse(
      renderAnswer(tools, cacheRequest('/v1/chat/completions', {}), STORED_AT)!.body,
    ) as {
      choices: { message: Record<string, unknown> }[];
    };
    expect(json.choices[0]!.message).toMatchObject({ content: null, tool_calls: [call] });
    const ev = events(
      renderAnswer(tools, cacheRequest('/v1/chat/completions', { stream: true }), STORED_AT)!.body,
    ) as {
      choices: { delta: Record<string, unknown> }[];
    }[];
    expect(ev.map((e) => e.choices[0]!.delta)).toContainEqual({ tool_calls: [{ index: 0, ...call }] });
  });

  it('renders text_completion chunks when the endpoint is /completions', () => {
    const a: CachedAnswer = { ...chat, endpoint: 'completions' };
    const ev = events(
      renderAnswer(a, cacheRequest('/v1/completions', { stream: true }), STORED_AT)!.body,
    ) as {
      object: string;
      choices: { text: string; finish_reason: unknown }[];
    }[];
    expect(ev.map((e) => [e.object, e.choices[0]!.text, e.choices[0]!.finish_reason])).toEqual([
      ['text_completion', 'Hello', null],
      ['text_completion', '', 'stop'],
    ]);
  });

  it('renders an Ollama chat record when the request set stream false', () => {
    const a: CachedAnswer = { ...chat, endpoint: 'ollama_chat', usage: { eval_count: 1 } };
    const r = renderAnswer(a, cacheRequest('/api/chat', { model: 'llama3', stream: false }), STORED_AT)!;
    expect(r.contentType).toBe('application/json');
    expect(JSON.parse(r.body)).toEqual({
      model: 'max-model',
      created_at: new Date(STORED_AT).toISOString(),
      message: { role: 'assistant', content: 'Hello' },
      done: true,
      done_reason: 'stop',
      eval_count: 1,
    });
  });

  it('replays content then a done line when an Ollama request streams by default', () => {
    const a: CachedAnswer = { ...chat, endpoint: 'ollama_generate', usage: null };
    const r = renderAnswer(a, cacheRequest('/api/generate', { model: 'llama3' }), STORED_AT)!;
    expect(r.contentType).toBe('application/x-ndjson');
    const lines = r.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toMatchObject([
      { response: 'Hello', done: false },
      { response: '', done: true, done_reason: 'stop' },
    ]);
  });

  it('serves a body answer as is when the request asked for a stream', () => {
    const a: CachedAnswer = {
      v: 1,
      kind: 'body',
      endpoint: 'embeddings',
      contentType: 'application/json',
      body: '{"data":[]}',
    };
    expect(renderAnswer(a, cacheRequest('/v1/embeddings', { stream: true }), STORED_AT)).toEqual({
      contentType: 'application/json',
      body: '{"data":[]}',
    });
  });

  it('returns null when the stored answer belongs to another endpoint', () => {
    expect(renderAnswer(chat, cacheRequest('/api/chat', {}), STORED_AT)).toBeNull();
  });
});
