import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

function client(s: Stack): OpenAI {
  return new OpenAI({ baseURL: `${s.proxyUrl}/v1`, apiKey: 'sk-test', maxRetries: 0 });
}

async function collect(s: Stack): Promise<{ text: string; tier: string | null }> {
  const { data: stream, response } = await client(s)
    .chat.completions.create({
      model: 'llama-3.1-8b',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    })
    .withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return { text, tier: response.headers.get('x-breakwater-tier') };
}

describe('streaming', () => {
  it('passes an SSE stream through chunk by chunk from the primary', async () => {
    stack = await startStack({ max: { streamChunks: 20 } });
    const r = await collect(stack);
    expect(r.tier).toBe('max-gpu');
    expect(r.text).toBe('Hello from mock-max (model llama-3.1-8b).');
    const b = stack.sidecar.breakers().find((x) => x.name === 'max-gpu')!;
    expect(b.snapshot()).toMatchObject({ total_successes: 1, total_failures: 0 });
  });

  it('falls back invisibly when the first event is an in-band error', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'in-band-error' });
    const r = await collect(stack);
    expect(r.tier).toBe('ollama-cpu');
    expect(r.text).toContain('mock-ollama');
    const b = stack.sidecar.breakers().find((x) => x.name === 'max-gpu')!;
    expect(b.snapshot()).toMatchObject({ total_failures: 1, consecutive_failures: 1 });
    expect(b.snapshot().last_failure).toMatchObject({ kind: 'in_band' });
  });

  it('falls back when the first token is later than firstByte although headers came at once', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'slow', delayMs: 2_000 });
    const r = await collect(stack);
    expect(r.tier).toBe('ollama-cpu');
    const b = stack.sidecar.breakers().find((x) => x.name === 'max-gpu')!;
    expect(b.snapshot()).toMatchObject({ total_timeouts: 1 });
  });

  it('makes the SDK raise when the stream is cut after the client got bytes', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'reset-mid-stream', afterChunks: 2 });
    let text = '';
    const run = async (): Promise<void> => {
      const stream = await client(stack!).chat.completions.create({
        model: 'llama-3.1-8b',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      });
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(run()).rejects.toThrow(/failed mid-stream/);
    expect(text.length).toBeGreaterThan(0);
    const b = stack.sidecar.breakers().find((x) => x.name === 'max-gpu')!;
    expect(b.snapshot()).toMatchObject({ total_failures: 1 });
    expect(stack.ollama.stats().requests).toBe(0);
  });

  it('ends the stream with an error event and no [DONE] when the stream stalls past idle', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'stall-mid-stream', afterChunks: 2 });
    const res = await fetch(`${stack.proxyUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [], stream: true }),
    });
    const body = await res.text();
    expect(res.headers.get('x-breakwater-tier')).toBe('max-gpu');
    expect(body).not.toContain('[DONE]');
    const last = body.trim().split('\n\n').pop()!;
    expect(JSON.parse(last.slice('data: '.length)).error.code).toBe('BW_ERR_STREAM_INTERRUPTED');
    const b = stack.sidecar.breakers().find((x) => x.name === 'max-gpu')!;
    expect(b.snapshot()).toMatchObject({ total_timeouts: 1 });
  });

  it('counts a malformed line mid-stream against the breaker', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'malformed', afterChunks: 1 });
    await expect(collect(stack)).rejects.toThrow();
    const b = stack.sidecar.breakers().find((x) => x.name === 'max-gpu')!;
    expect(b.snapshot().last_failure).toMatchObject({ kind: 'malformed' });
  });

  it('serves a valid degraded stream when both upstreams fail', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'status', status: 503 });
    await stack.ollama.setFault({ mode: 'refuse' });
    const r = await collect(stack);
    expect(r.tier).toBe('degraded');
    expect(r.text).toBe('Service temporarily unavailable');
  });

  it('streams Ollama native NDJSON to the official ollama client through the sidecar', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'refuse' });
    const ollama = new Ollama({ host: stack.proxyUrl });
    const stream = await ollama.chat({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
    let text = '';
    let done = false;
    for await (const part of stream) {
      text += part.message.content;
      done ||= part.done;
    }
    expect(done).toBe(true);
    expect(text).toContain('mock-ollama');
    const b = stack.sidecar.breakers().find((x) => x.name === 'ollama-cpu')!;
    expect(b.snapshot()).toMatchObject({ total_successes: 1, total_failures: 0 });
  });

  it('gives the ollama client a degraded answer in its own protocol', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'refuse' });
    await stack.ollama.setFault({ mode: 'status', status: 500 });
    const ollama = new Ollama({ host: stack.proxyUrl });
    const res = await ollama.chat({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: false,
    });
    expect(res.message.content).toBe('Service temporarily unavailable');
    expect(res.done).toBe(true);
    const stream = await ollama.generate({ model: 'llama3.1:8b', prompt: 'Hi', stream: true });
    let text = '';
    for await (const part of stream) text += part.response;
    expect(text).toBe('Service temporarily unavailable');
  });

  it('makes the ollama client raise when a native stream is cut mid-way', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'refuse' });
    await stack.ollama.setFault({ mode: 'reset-mid-stream', afterChunks: 2 });
    const ollama = new Ollama({ host: stack.proxyUrl });
    const run = async (): Promise<void> => {
      const stream = await ollama.chat({
        model: 'llama3.1:8b',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      });
      for await (const part of stream) void part;
    };
    await expect(run()).rejects.toThrow(/failed mid-stream/);
  });
});
