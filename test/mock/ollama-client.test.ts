import { Ollama } from 'ollama';
import { afterEach, describe, expect, it } from 'vitest';
import { startMock, type MockServer } from '../../src/mock/index.ts';

let mocks: MockServer[] = [];
afterEach(async () => {
  await Promise.all(mocks.map((m) => m.close()));
  mocks = [];
});

async function client(
  options: { strictModels?: boolean } = {},
): Promise<{ mock: MockServer; ollama: Ollama }> {
  const mock = await startMock({ kind: 'ollama', streamChunks: 4, ...options });
  mocks.push(mock);
  return { mock, ollama: new Ollama({ host: mock.url }) };
}

const MODEL = 'llama3.1:8b';
const EXPECTED = `Hello from mock-ollama (model ${MODEL}).`;

describe('mock ollama with the ollama client', () => {
  it('streams message parts ending with done when chat streams', async () => {
    const { ollama } = await client();
    const stream = await ollama.chat({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
    let text = '';
    let parts = 0;
    let last: { done: boolean; done_reason: string; eval_count: number } | null = null;
    for await (const part of stream) {
      text += part.message.content;
      parts += 1;
      last = part;
    }
    expect(text).toBe(EXPECTED);
    expect(parts).toBe(5);
    expect(last).toMatchObject({ done: true, done_reason: 'stop', eval_count: 4 });
  });

  it('returns the whole message when chat does not stream', async () => {
    const { ollama } = await client();
    const r = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    expect(r.message).toMatchObject({ role: 'assistant', content: EXPECTED });
    expect(r.done).toBe(true);
  });

  it('returns the response text when generate is asked', async () => {
    const { ollama } = await client();
    const r = await ollama.generate({ model: MODEL, prompt: 'Hi' });
    expect(r.response).toBe(EXPECTED);
    let streamed = '';
    for await (const part of await ollama.generate({ model: MODEL, prompt: 'Hi', stream: true })) {
      streamed += part.response;
    }
    expect(streamed).toBe(EXPECTED);
  });

  it('returns one vector per input when embed is asked', async () => {
    const { ollama } = await client();
    const r = await ollama.embed({ model: 'nomic-embed-text', input: ['a', 'b', 'c'] });
    expect(r.model).toBe('nomic-embed-text');
    expect(r.embeddings).toHaveLength(3);
    expect(r.embeddings[0]).toHaveLength(8);
  });

  it('lists the configured models when list is asked', async () => {
    const { mock, ollama } = await client();
    mock.configure({ models: ['qwen2.5:7b', 'llama3.1:8b'] });
    const r = await ollama.list();
    expect(r.models.map((m) => m.name)).toEqual(['qwen2.5:7b', 'llama3.1:8b']);
  });

  it('throws a ResponseError with status 404 when strictModels rejects the model', async () => {
    const { ollama } = await client({ strictModels: true });
    await expect(ollama.chat({ model: 'missing', messages: [] })).rejects.toMatchObject({
      status_code: 404,
      error: 'model "missing" not found, try pulling it first',
    });
  });

  it('throws while iterating when the stream carries an in-band error', async () => {
    const { mock, ollama } = await client();
    await mock.setFault({ mode: 'in-band-error' });
    const stream = await ollama.chat({ model: MODEL, messages: [], stream: true });
    const drain = async (): Promise<void> => {
      for await (const _ of stream) {
        // consume
      }
    };
    await expect(drain()).rejects.toThrow(/generation failed/);
  });
});
