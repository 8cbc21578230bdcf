import { afterEach, describe, expect, it } from 'vitest';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { ndjsonLines, parseAs, rawFetch, rawRequest, sseData } from './raw-http.ts';

interface Chunk {
  id: string;
  object: string;
  model: string;
  choices: { delta: { role?: string; content?: string }; text?: string; finish_reason: string | null }[];
  usage?: { completion_tokens: number };
}
interface EmbeddingList {
  object: string;
  data: { embedding: number[] }[];
}
interface NativeLine {
  done: boolean;
  message: { content: string };
  [key: string]: unknown;
}

const CHAT = JSON.stringify({ model: 'm1', messages: [{ role: 'user', content: 'Hello there' }] });
const CHAT_STREAM = JSON.stringify({
  model: 'm1',
  messages: [{ role: 'user', content: 'Hello there' }],
  stream: true,
  stream_options: { include_usage: true },
});

let mocks: MockServer[] = [];
async function mock(
  kind: 'max' | 'ollama',
  extra: Partial<Parameters<typeof startMock>[0]> = {},
): Promise<MockServer> {
  const m = await startMock({ kind, ...extra });
  mocks.push(m);
  return m;
}

afterEach(async () => {
  await Promise.all(mocks.map((m) => m.close()));
  mocks = [];
});

describe('mock MAX wire format', () => {
  it('answers a chat.completion with the requested model when stream is absent', async () => {
    const m = await mock('max');
    const r = await rawFetch(m.url, { path: '/v1/chat/completions', body: CHAT });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const body = JSON.parse(r.text);
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'm1',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello from mock-max (model m1).' },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 8, total_tokens: 11 },
    });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(typeof body.created).toBe('number');
  });

  it('frames SSE events with a role event, content deltas, finish, usage and [DONE] when stream is true', async () => {
    const m = await mock('max', { streamChunks: 4 });
    const r = await rawFetch(m.url, { path: '/v1/chat/completions', body: CHAT_STREAM });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(r.text.endsWith('data: [DONE]\n\n')).toBe(true);
    const data = sseData(r.text);
    expect(data.at(-1)).toBe('[DONE]');
    const events = data.slice(0, -1).map((d) => parseAs<Chunk>(d));
    expect(events).toHaveLength(1 + 4 + 1 + 1);
    expect(events[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    const text = events
      .slice(1, 5)
      .map((e) => e.choices[0]!.delta.content)
      .join('');
    expect(text).toBe('Hello from mock-max (model m1).');
    expect(events[5]!.choices[0]!.finish_reason).toBe('stop');
    expect(events[6]!.choices).toEqual([]);
    expect(events[6]!.usage!.completion_tokens).toBe(4);
    for (const e of events)
      expect(e).toMatchObject({ object: 'chat.completion.chunk', model: 'm1', id: events[0]!.id });
  });

  it('streams text_completion events when /v1/completions is asked to stream', async () => {
    const m = await mock('max', { streamChunks: 3 });
    const r = await rawFetch(m.url, {
      path: '/v1/completions',
      body: '{"model":"m1","prompt":"Hi","stream":true}',
    });
    const data = sseData(r.text);
    expect(data.at(-1)).toBe('[DONE]');
    const events = data.slice(0, -1).map((d) => parseAs<Chunk>(d));
    expect(events.map((e) => e.choices[0]!.text).join('')).toBe('Hello from mock-max (model m1).');
    expect(events.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('returns the same unit vector for the same input when embeddings are asked twice', async () => {
    const m = await mock('max');
    const ask = async (input: unknown) =>
      parseAs<EmbeddingList>(
        (await rawFetch(m.url, { path: '/v1/embeddings', body: JSON.stringify({ model: 'e', input }) })).text,
      );
    const a = await ask(['one', 'two']);
    const b = await ask('one');
    expect(a.object).toBe('list');
    expect(a.data).toHaveLength(2);
    const v = a.data[0]!.embedding;
    expect(v).toHaveLength(8);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(b.data[0]!.embedding).toEqual(v);
    expect(a.data[1]!.embedding).not.toEqual(v);
  });

  it('answers health, the model list and a single model when asked', async () => {
    const m = await mock('max', { models: ['org/big-model'] });
    expect((await rawFetch(m.url, { path: '/health' })).status).toBe(200);
    const list = JSON.parse((await rawFetch(m.url, { path: '/v1/models' })).text);
    expect(list).toMatchObject({
      object: 'list',
      data: [{ id: 'org/big-model', object: 'model', owned_by: '' }],
    });
    expect((await rawFetch(m.url, { path: '/v1/models/big-model' })).status).toBe(200);
    expect((await rawFetch(m.url, { path: '/v1/models/other' })).status).toBe(404);
  });

  it('answers 400 in OpenAI shape when the body is not JSON', async () => {
    const m = await mock('max');
    const r = await rawFetch(m.url, { path: '/v1/chat/completions', body: '{nope' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({
      error: { code: '400', message: 'Missing JSON.', param: '', type: 'invalid_request_error' },
    });
  });

  it("answers FastAPI's 404 and 405 bodies when the path or method is unknown", async () => {
    const m = await mock('max');
    const nf = await rawFetch(m.url, { path: '/v2/nothing' });
    expect([nf.status, JSON.parse(nf.text)]).toEqual([404, { detail: 'Not Found' }]);
    const na = await rawFetch(m.url, { path: '/v1/chat/completions' });
    expect([na.status, JSON.parse(na.text)]).toEqual([405, { detail: 'Method Not Allowed' }]);
  });

  it('rejects an unknown model with 400 "Value error." when strictModels is on', async () => {
    const m = await mock('max', { models: ['served'], strictModels: true });
    const bad = await rawFetch(m.url, { path: '/v1/chat/completions', body: CHAT });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error.message).toBe('Value error.');
    const ok = await rawFetch(m.url, {
      path: '/v1/chat/completions',
      body: '{"model":"served","messages":[]}',
    });
    expect(ok.status).toBe(200);
  });
});

describe('mock Ollama wire format', () => {
  it('streams NDJSON by default with a final done line carrying counts and timings', async () => {
    const m = await mock('ollama', { streamChunks: 5 });
    const r = await rawFetch(m.url, { path: '/api/chat', body: CHAT });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/x-ndjson');
    expect(r.text.endsWith('\n')).toBe(true);
    const lines = ndjsonLines(r.text).map((l) => parseAs<NativeLine>(l));
    expect(lines).toHaveLength(6);
    expect(lines.slice(0, 5).every((l) => l.done === false)).toBe(true);
    expect(lines.map((l) => l.message.content).join('')).toBe('Hello from mock-ollama (model m1).');
    expect(lines[5]).toMatchObject({ done: true, done_reason: 'stop', model: 'm1', eval_count: 5 });
    for (const k of [
      'total_duration',
      'load_duration',
      'prompt_eval_count',
      'prompt_eval_duration',
      'eval_duration',
    ]) {
      expect(typeof lines[5]![k]).toBe('number');
    }
  });

  it('answers one JSON object when stream is false', async () => {
    const m = await mock('ollama');
    const r = await rawFetch(m.url, {
      path: '/api/generate',
      body: '{"model":"m1","prompt":"Hi","stream":false}',
    });
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(r.text)).toMatchObject({
      response: 'Hello from mock-ollama (model m1).',
      done: true,
      done_reason: 'stop',
    });
  });

  it('answers root, version, tags and embed when asked', async () => {
    const m = await mock('ollama');
    const root = await rawFetch(m.url, { path: '/' });
    expect([root.status, root.text, root.headers['content-type']]).toEqual([
      200,
      'Ollama is running',
      'text/plain; charset=utf-8',
    ]);
    const head = await rawFetch(m.url, { path: '/', method: 'HEAD' });
    expect([head.status, head.text]).toEqual([200, '']);
    expect(JSON.parse((await rawFetch(m.url, { path: '/api/version' })).text)).toHaveProperty('version');
    const tags = JSON.parse((await rawFetch(m.url, { path: '/api/tags' })).text);
    expect(tags.models[0]).toMatchObject({
      name: 'llama3.1:8b',
      model: 'llama3.1:8b',
      details: { family: 'llama' },
    });
    const embed = JSON.parse(
      (await rawFetch(m.url, { path: '/api/embed', body: '{"model":"e","input":["a","b"]}' })).text,
    );
    expect(embed.model).toBe('e');
    expect(embed.embeddings).toHaveLength(2);
    expect(embed.embeddings[0]).toHaveLength(8);
  });

  it('answers 404 "not found, try pulling it first" when strictModels is on and the model is unknown', async () => {
    const m = await mock('ollama', { models: ['llama3.1:8b'], strictModels: true });
    const r = await rawFetch(m.url, { path: '/api/chat', body: CHAT });
    expect([r.status, JSON.parse(r.text)]).toEqual([
      404,
      { error: 'model "m1" not found, try pulling it first' },
    ]);
    const v1 = await rawFetch(m.url, { path: '/v1/chat/completions', body: CHAT });
    expect(v1.status).toBe(404);
    expect(JSON.parse(v1.text).error).toMatchObject({ type: 'not_found_error', param: null, code: null });
    const tagless = await rawFetch(m.url, {
      path: '/api/chat',
      body: '{"model":"llama3.1:8b","messages":[]}',
    });
    expect(tagless.status).toBe(200);
  });

  it('answers native errors as {"error": string} and /v1 errors in OpenAI shape when the body is bad', async () => {
    const m = await mock('ollama');
    const nat = await rawFetch(m.url, { path: '/api/chat', body: '' });
    expect([nat.status, JSON.parse(nat.text)]).toEqual([400, { error: 'missing request body' }]);
    const v1 = await rawFetch(m.url, { path: '/v1/chat/completions', body: 'x' });
    expect(v1.status).toBe(400);
    expect(JSON.parse(v1.text).error.type).toBe('invalid_request_error');
    const none = await rawFetch(m.url, { path: '/api/nothing' });
    expect([none.status, none.text]).toEqual([404, '404 page not found']);
  });

  it('answers 403 with an empty body when the Host header is foreign and the mock is bound to loopback', async () => {
    const m = await mock('ollama');
    const foreign = await rawFetch(m.url, {
      path: '/api/tags',
      headers: { host: 'ollama.example.com:11434' },
    });
    expect([foreign.status, foreign.text]).toEqual([403, '']);
    for (const host of ['localhost:11434', '127.0.0.1', 'box.internal', '[::1]:11434', '10.1.2.3']) {
      expect((await rawFetch(m.url, { path: '/api/tags', headers: { host } })).status).toBe(200);
    }
  });

  it('accepts any Host when the mock is MAX', async () => {
    const m = await mock('max');
    const r = await rawFetch(m.url, { path: '/health', headers: { host: 'max-serve:8000' } });
    expect(r.status).toBe(200);
  });

  it('records the last request and per-path counts when requests arrive', async () => {
    const m = await mock('ollama');
    await rawFetch(m.url, { path: '/api/tags?x=1' });
    await rawFetch(m.url, { path: '/api/chat', body: CHAT, headers: { authorization: 'Bearer k' } });
    const s = m.stats();
    expect(s.requests).toBe(2);
    expect(s.byPath).toEqual({ '/api/tags': 1, '/api/chat': 1 });
    expect(s.last).toMatchObject({ method: 'POST', path: '/api/chat', body: JSON.parse(CHAT) });
    expect(s.last?.headers.authorization).toBe('Bearer k');
    m.resetStats();
    expect(m.stats()).toEqual({
      requests: 0,
      faulted: 0,
      byPath: {},
      last: null,
      inflight: 0,
      peakInflight: 0,
    });
  });

  it('streams OpenAI SSE on /v1 with the fp_ollama fingerprint when stream is true', async () => {
    const m = await mock('ollama');
    const r = await rawRequest(m.url, { path: '/v1/chat/completions', body: CHAT_STREAM });
    expect(r.headers['content-type']).toBe('text/event-stream');
    const done = await r.done;
    const data = sseData(done.text);
    expect(data.at(-1)).toBe('[DONE]');
    expect(JSON.parse(data[0]!).system_fingerprint).toBe('fp_ollama');
  });
});
