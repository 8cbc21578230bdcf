import { Ollama, type ChatResponse, type GenerateResponse } from 'ollama';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreCache, createResponseCache } from '../../src/cache/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { cachePolicy, ndjson, recorded, sse, startPathServer, type PathServer } from './helpers.ts';

// Answers replayed by the cache are fed to the official clients: what they accept is the contract.

let clock: ManualClock;
let cache: StoreCache;
let server: PathServer;
let openai: OpenAI;
let ollama: Ollama;

beforeEach(async () => {
  clock = new ManualClock();
  const c = createResponseCache(cachePolicy(), { clock, logger: silentLogger() });
  if (!(c instanceof StoreCache)) throw new Error('expected a StoreCache');
  cache = c;
  server = await startPathServer(cache);
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
});

afterEach(async () => {
  await server.close();
  await cache.close();
});

const chunk = (delta: unknown, finish: string | null = null) => ({
  id: 'up-1',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'max-model',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
});
const chatSse = sse(
  chunk({ role: 'assistant', content: '' }),
  chunk({ content: 'Hello ' }),
  chunk({ content: 'world' }),
  chunk({}, 'stop'),
);
const chatJson = JSON.stringify({
  id: 'up-2',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'max-model',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hello world' },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
});
const messages = [{ role: 'user' as const, content: 'Say hello' }];

/** Calls once against the upstream fixture (stored), then again from the cache. */
async function warm<T>(call: () => Promise<T>): Promise<void> {
  await call();
  await cache.flush();
  expect(server.misses).toBe(1);
}

describe('cache replay with the openai client', () => {
  it('returns a chat.completion with age and tier headers when the stored answer was an SSE stream', async () => {
    server.upstream = recorded('sse', chatSse);
    await warm(async () => {
      const s = await openai.chat.completions.create({ model: 'gpt-x', messages, stream: true });
      for await (const _ of s) void _;
    });
    clock.advance(3_500);
    const { data, response } = await openai.chat.completions
      .create({ model: 'gpt-x', messages })
      .withResponse();
    expect(server.hits).toBe(1);
    expect(data.choices[0]!.message.content).toBe('Hello world');
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.model).toBe('max-model');
    expect(response.headers.get('age')).toBe('3');
    expect(response.headers.get('x-breakwater-tier')).toBe('cache');
    expect(response.headers.get('x-breakwater-route')).toBe('default');
  });

  it('streams chunks the SDK assembles when the stored answer was a JSON body', async () => {
    server.upstream = recorded(null, chatJson);
    await warm(() => openai.chat.completions.create({ model: 'gpt-x', messages }));
    const stream = openai.chat.completions.stream({
      model: 'gpt-x',
      messages,
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    expect(server.hits).toBe(1);
    expect(final.choices[0]!.message.content).toBe('Hello world');
    expect(final.choices[0]!.finish_reason).toBe('stop');
    expect(final.usage?.total_tokens).toBe(7);
  });

  it('replays tool calls the SDK accepts when the stored stream carried them as deltas', async () => {
    const call = (args: string, first: boolean) =>
      chunk({
        tool_calls: [
          first
            ? { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: args } }
            : { index: 0, function: { arguments: args } },
        ],
      });
    server.upstream = recorded(
      'sse',
      sse(
        chunk({ role: 'assistant', content: null }),
        call('{"city":', true),
        call('"Oslo"}', false),
        chunk({}, 'tool_calls'),
      ),
    );
    const tools = [
      { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } },
    ];
    await warm(() => openai.chat.completions.create({ model: 'gpt-x', messages, tools }));
    const final = await openai.chat.completions
      .stream({ model: 'gpt-x', messages, tools })
      .finalChatCompletion();
    const json = await openai.chat.completions.create({ model: 'gpt-x', messages, tools });
    expect(server.hits).toBe(2);
    for (const c of [final.choices[0]!, json.choices[0]!]) {
      expect(c.finish_reason).toBe('tool_calls');
      expect(c.message.tool_calls).toMatchObject([
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      ]);
    }
  });

  it('serves completions both ways when the stored answer was a JSON body', async () => {
    const body = {
      id: 'c',
      object: 'text_completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, text: 'abc', logprobs: null, finish_reason: 'stop' }],
    };
    server.upstream = recorded(null, JSON.stringify(body));
    await warm(() => openai.completions.create({ model: 'm', prompt: 'x' }));
    const whole = await openai.completions.create({ model: 'm', prompt: 'x' });
    let text = '';
    for await (const c of await openai.completions.create({ model: 'm', prompt: 'x', stream: true }))
      text += c.choices[0]?.text ?? '';
    expect(server.hits).toBe(2);
    expect(whole.choices[0]!.text).toBe('abc');
    expect(text).toBe('abc');
  });

  it('returns the stored embeddings when the same input is asked again', async () => {
    const body = {
      object: 'list',
      model: 'e',
      data: [{ object: 'embedding', index: 0, embedding: [0.25, -0.5] }],
      usage: { prompt_tokens: 1, total_tokens: 1 },
    };
    server.upstream = recorded(null, JSON.stringify(body));
    await warm(() => openai.embeddings.create({ model: 'e', input: 'x', encoding_format: 'float' }));
    const r = await openai.embeddings.create({ model: 'e', input: 'x', encoding_format: 'float' });
    expect(server.hits).toBe(1);
    expect(r.data[0]!.embedding).toEqual([0.25, -0.5]);
  });

  it('misses when the same question comes with another API key', async () => {
    server.upstream = recorded(null, chatJson);
    await warm(() => openai.chat.completions.create({ model: 'gpt-x', messages }));
    server.upstream = null;
    const other = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-other', maxRetries: 0 });
    await expect(other.chat.completions.create({ model: 'gpt-x', messages })).rejects.toThrow(/miss/);
    expect(server.hits).toBe(0);
  });
});

const ollamaLines = ndjson(
  {
    model: 'llama3',
    created_at: '2025-01-01T00:00:00Z',
    message: { role: 'assistant', content: 'Hi ' },
    done: false,
  },
  {
    model: 'llama3',
    created_at: '2025-01-01T00:00:00Z',
    message: { role: 'assistant', content: 'there' },
    done: false,
  },
  {
    model: 'llama3',
    created_at: '2025-01-01T00:00:00Z',
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: 'stop',
    eval_count: 2,
    prompt_eval_count: 4,
    total_duration: 10,
    load_duration: 1,
    prompt_eval_duration: 2,
    eval_duration: 3,
  },
);

describe('cache replay with the ollama client', () => {
  it('returns a whole chat record when the stored answer was an NDJSON stream', async () => {
    server.upstream = recorded('ndjson', ollamaLines);
    await warm(async () => {
      for await (const _ of await ollama.chat({ model: 'llama3', messages, stream: true })) void _;
    });
    const r = await ollama.chat({ model: 'llama3', messages });
    expect(server.hits).toBe(1);
    expect(r.message).toEqual({ role: 'assistant', content: 'Hi there' });
    expect(r.done).toBe(true);
    expect(r.done_reason).toBe('stop');
    expect(r.eval_count).toBe(2);
  });

  it('streams parts ending with done when the stored answer was a JSON record', async () => {
    const body = {
      model: 'llama3',
      created_at: '2025-01-01T00:00:00Z',
      message: { role: 'assistant', content: 'Hi there' },
      done: true,
      done_reason: 'stop',
      eval_count: 2,
    };
    server.upstream = recorded(null, JSON.stringify(body));
    await warm(() => ollama.chat({ model: 'llama3', messages }));
    const parts: ChatResponse[] = [];
    for await (const p of await ollama.chat({ model: 'llama3', messages, stream: true })) parts.push(p);
    expect(server.hits).toBe(1);
    expect(parts.map((p) => p.message.content).join('')).toBe('Hi there');
    expect(parts.at(-1)!.done).toBe(true);
    expect(parts.slice(0, -1).every((p) => !p.done)).toBe(true);
  });

  it('serves generate both ways when the stored answer was an NDJSON stream', async () => {
    const lines = ndjson(
      { model: 'llama3', created_at: 't', response: 'The sky', done: false },
      { model: 'llama3', created_at: 't', response: ' is blue', done: false },
      { model: 'llama3', created_at: 't', response: '', done: true, done_reason: 'stop' },
    );
    server.upstream = recorded('ndjson', lines);
    await warm(async () => {
      for await (const _ of await ollama.generate({ model: 'llama3', prompt: 'why', stream: true })) void _;
    });
    const whole = await ollama.generate({ model: 'llama3', prompt: 'why' });
    const parts: GenerateResponse[] = [];
    for await (const p of await ollama.generate({ model: 'llama3', prompt: 'why', stream: true }))
      parts.push(p);
    expect(server.hits).toBe(2);
    expect(whole.response).toBe('The sky is blue');
    expect(parts.map((p) => p.response).join('')).toBe('The sky is blue');
    expect(parts.at(-1)!.done).toBe(true);
  });

  it('returns the stored vectors when embed is asked again', async () => {
    server.upstream = recorded(null, JSON.stringify({ model: 'e', embeddings: [[0.5, 0.25]] }));
    await warm(() => ollama.embed({ model: 'e', input: 'x' }));
    const r = await ollama.embed({ model: 'e', input: 'x' });
    expect(server.hits).toBe(1);
    expect(r.embeddings).toEqual([[0.5, 0.25]]);
  });
});
