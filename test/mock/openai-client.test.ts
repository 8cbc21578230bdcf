import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startMock, type MockServer } from '../../src/mock/index.ts';

let mocks: MockServer[] = [];
afterEach(async () => {
  await Promise.all(mocks.map((m) => m.close()));
  mocks = [];
});

const KINDS = [
  { kind: 'max' as const, model: 'llama-3.1-8b' },
  { kind: 'ollama' as const, model: 'llama3.1:8b' },
];

describe.each(KINDS)('mock $kind with the openai client', ({ kind, model }) => {
  async function client(): Promise<{ mock: MockServer; openai: OpenAI }> {
    const mock = await startMock({ kind, streamChunks: 5 });
    mocks.push(mock);
    return { mock, openai: new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'test-key', maxRetries: 0 }) };
  }
  const expected = `Hello from mock-${kind} (model ${model}).`;

  it('returns the reply text when a chat completion does not stream', async () => {
    const { openai } = await client();
    const r = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }] });
    expect(r.model).toBe(model);
    expect(r.choices[0]?.message).toMatchObject({ role: 'assistant', content: expected });
    expect(r.choices[0]?.finish_reason).toBe('stop');
    expect(r.usage?.completion_tokens).toBe(5);
  });

  it('streams the reply text, the finish reason and usage when stream is true', async () => {
    const { openai } = await client();
    const stream = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: number | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage?.total_tokens ?? usage;
    }
    expect(text).toBe(expected);
    expect(finish).toBe('stop');
    expect(usage).toBeGreaterThan(5);
  });

  it('returns the reply text when a legacy completion is asked', async () => {
    const { openai } = await client();
    const r = await openai.completions.create({ model, prompt: 'Say hi' });
    expect(r.choices[0]?.text).toBe(expected);
  });

  it('returns decoded vectors when embeddings use the SDK default base64 encoding', async () => {
    const { openai } = await client();
    const r = await openai.embeddings.create({ model: 'embed', input: ['alpha', 'beta'] });
    const floats = await openai.embeddings.create({
      model: 'embed',
      input: 'alpha',
      encoding_format: 'float',
    });
    expect(r.data).toHaveLength(2);
    expect(r.data[0]?.embedding).toHaveLength(8);
    expect(r.data[0]?.embedding).toEqual(floats.data[0]?.embedding);
  });

  it('lists the served models when models are listed', async () => {
    const { openai } = await client();
    const ids: string[] = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    expect(ids).toEqual([model]);
  });

  it('raises an APIError with the status when a status fault is active', async () => {
    const { mock, openai } = await client();
    await mock.setFault({ mode: 'status', status: 503 });
    await expect(openai.chat.completions.create({ model, messages: [] })).rejects.toMatchObject({
      status: 503,
    });
  });

  it('raises while iterating when the stream carries an in-band error', async () => {
    const { mock, openai } = await client();
    await mock.setFault({ mode: 'in-band-error' });
    const stream = await openai.chat.completions.create({ model, messages: [], stream: true });
    const drain = async (): Promise<void> => {
      for await (const _ of stream) {
        // consume
      }
    };
    await expect(drain()).rejects.toThrow(/generation failed/);
  });
});
