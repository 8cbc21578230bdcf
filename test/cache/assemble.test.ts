import { describe, expect, it } from 'vitest';
import {
  assembleAnswer,
  decodeRecorded,
  encodeRecorded,
  type GenerationAnswer,
} from '../../src/cache/index.ts';
import { endpointOf } from '../../src/protocol/index.ts';
import { ndjson, recorded, sse } from './helpers.ts';

const ep = (path: string) => endpointOf('POST', path)!;
const CHAT = ep('/v1/chat/completions');
const COMPLETIONS = ep('/v1/completions');
const OLLAMA_CHAT = ep('/api/chat');
const OLLAMA_GENERATE = ep('/api/generate');
const EMBED = ep('/api/embed');

const chunk = (delta: unknown, finish: string | null = null, index = 0) => ({
  id: 'c1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'max-model',
  choices: [{ index, delta, finish_reason: finish }],
});

describe('assembleAnswer', () => {
  it('merges OpenAI SSE deltas into whole choices with usage when the stream ended with [DONE]', () => {
    const body = sse(
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      {
        id: 'c1',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'max-model',
        choices: [],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      },
    );
    expect(assembleAnswer(CHAT, recorded('sse', body))).toEqual({
      v: 1,
      kind: 'generation',
      endpoint: 'chat',
      model: 'max-model',
      choices: [
        {
          index: 0,
          role: 'assistant',
          content: 'Hello',
          reasoning: null,
          toolCalls: null,
          finishReason: 'stop',
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });

  it('merges tool-call argument fragments by index when they arrive as deltas', () => {
    const body = sse(
      chunk({
        role: 'assistant',
        content: null,
        tool_calls: [
          { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      chunk({}, 'tool_calls'),
    );
    const a = assembleAnswer(CHAT, recorded('sse', body)) as GenerationAnswer;
    expect(a.choices[0]!.toolCalls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ]);
    expect(a.choices[0]!.content).toBe('');
    expect(a.choices[0]!.finishReason).toBe('tool_calls');
  });

  it('keeps reasoning text apart when the server streams reasoning_content', () => {
    const body = sse(
      chunk({ role: 'assistant', reasoning_content: 'think' }),
      chunk({ content: 'ok' }, 'stop'),
    );
    const a = assembleAnswer(CHAT, recorded('sse', body)) as GenerationAnswer;
    expect(a.choices[0]).toMatchObject({ reasoning: 'think', content: 'ok' });
  });

  it('reads an OpenAI JSON body when the answer was not streamed', () => {
    const body = {
      id: 'x',
      object: 'chat.completion',
      model: 'm',
      choices: [
        { index: 1, message: { role: 'assistant', content: 'second' }, finish_reason: 'length' },
        { index: 0, message: { role: 'assistant', content: 'first' }, finish_reason: 'stop' },
      ],
    };
    const a = assembleAnswer(CHAT, recorded(null, JSON.stringify(body))) as GenerationAnswer;
    expect(a.choices.map((c) => [c.index, c.content, c.finishReason])).toEqual([
      [0, 'first', 'stop'],
      [1, 'second', 'length'],
    ]);
    expect(a.usage).toBeNull();
  });

  it('reads completion text when the endpoint is /completions', () => {
    const body = sse(
      {
        id: 'c',
        object: 'text_completion',
        model: 'm',
        choices: [{ index: 0, text: 'ab', finish_reason: null }],
      },
      {
        id: 'c',
        object: 'text_completion',
        model: 'm',
        choices: [{ index: 0, text: 'c', finish_reason: 'stop' }],
      },
    );
    expect((assembleAnswer(COMPLETIONS, recorded('sse', body)) as GenerationAnswer).choices[0]!.content).toBe(
      'abc',
    );
  });

  it('merges Ollama NDJSON lines and keeps the final counters when the last line is done', () => {
    const body = ndjson(
      { model: 'llama3', created_at: 't', message: { role: 'assistant', content: 'Hi ' }, done: false },
      { model: 'llama3', created_at: 't', message: { role: 'assistant', content: 'there' }, done: false },
      {
        model: 'llama3',
        created_at: 't',
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'stop',
        eval_count: 2,
        prompt_eval_count: 4,
        total_duration: 99,
      },
    );
    expect(assembleAnswer(OLLAMA_CHAT, recorded('ndjson', body))).toEqual({
      v: 1,
      kind: 'generation',
      endpoint: 'ollama_chat',
      model: 'llama3',
      choices: [
        {
          index: 0,
          role: 'assistant',
          content: 'Hi there',
          reasoning: null,
          toolCalls: null,
          finishReason: 'stop',
        },
      ],
      usage: { total_duration: 99, prompt_eval_count: 4, eval_count: 2 },
    });
  });

  it('reads an Ollama generate JSON body with thinking when the answer was not streamed', () => {
    const body = { model: 'q', response: 'yes', thinking: 'hmm', done: true, done_reason: 'stop' };
    const a = assembleAnswer(OLLAMA_GENERATE, recorded(null, JSON.stringify(body))) as GenerationAnswer;
    expect(a.choices[0]).toMatchObject({ content: 'yes', reasoning: 'hmm', finishReason: 'stop' });
  });

  it('keeps embeddings as their JSON body', () => {
    const body = JSON.stringify({ model: 'e', embeddings: [[0.1, 0.2]] });
    expect(assembleAnswer(EMBED, recorded(null, body))).toEqual({
      v: 1,
      kind: 'body',
      endpoint: 'ollama_embed',
      contentType: 'application/json',
      body,
    });
  });

  it.each([
    ['a non-2xx status', CHAT, recorded(null, '{"choices":[]}', 500)],
    ['an error body', CHAT, recorded(null, '{"error":{"message":"boom"}}')],
    [
      'an in-band error event',
      CHAT,
      recorded('sse', sse(chunk({ content: 'a' }), { error: { message: 'oom' } })),
    ],
    [
      'a stream cut before [DONE]',
      CHAT,
      recorded('sse', `data: ${JSON.stringify(chunk({ content: 'a' }))}\n\n`),
    ],
    ['a malformed event', CHAT, recorded('sse', 'data: {not json\n\ndata: [DONE]\n\n')],
    [
      'an NDJSON stream without done',
      OLLAMA_CHAT,
      recorded('ndjson', ndjson({ message: { content: 'a' }, done: false })),
    ],
    ['NDJSON on an OpenAI endpoint', CHAT, recorded('ndjson', ndjson({ done: true }))],
    ['SSE on an Ollama endpoint', OLLAMA_CHAT, recorded('sse', sse({}))],
    ['a streamed embedding', EMBED, recorded('ndjson', ndjson({ done: true }))],
    ['a non-JSON body', CHAT, recorded(null, 'hello')],
    ['a body without choices', CHAT, recorded(null, '{"object":"chat.completion","choices":[]}')],
  ])('returns null when the answer is %s', (_name, ei, rec) => {
    expect(assembleAnswer(ei, rec)).toBeNull();
  });
});

describe('decodeRecorded', () => {
  it('round-trips a recorded stream byte for byte', () => {
    const rec = recorded('sse', 'data: {"choices":[]}\n\ndata: [DONE]\n\n');
    const back = decodeRecorded(encodeRecorded(rec))!;
    expect(back).toMatchObject({ status: rec.status, contentType: rec.contentType, framing: 'sse' });
    expect(back.body.equals(rec.body)).toBe(true);
  });

  it.each([
    ['garbage', 'xx'],
    ['another version', '{"v":1,"kind":"body","endpoint":"x","body":"","contentType":""}\n{}'],
    ['a head without status', '{"v":2,"contentType":"application/json"}\n{}'],
  ])('returns null when the bytes are %s', (_n, text) => {
    expect(decodeRecorded(Buffer.from(text))).toBeNull();
  });
});
