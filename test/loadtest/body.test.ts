import { describe, expect, it } from 'vitest';
import { Framing } from '../../src/protocol/index.ts';
import { StreamCheck, asksForStream, defaultBody } from '../../src/loadtest/index.ts';
import { framingOf } from '../../src/protocol/index.ts';

describe('defaultBody', () => {
  it('builds an OpenAI chat request without stream when the path is chat completions', () => {
    expect(defaultBody('/v1/chat/completions')).toEqual({
      model: 'llama-3.1-8b',
      messages: [{ role: 'user', content: 'Hello' }],
    });
  });

  it('adds stream true and uses the given model and prompt when asked', () => {
    expect(defaultBody('/v1/chat/completions', { stream: true, model: 'm', prompt: 'Hi' })).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
  });

  it('uses the Ollama model name and an explicit stream flag when the path is Ollama native', () => {
    expect(defaultBody('/api/chat')).toEqual({
      model: 'llama3.1:8b',
      messages: [{ role: 'user', content: 'Hello' }],
      stream: false,
    });
    expect(defaultBody('/api/generate', { stream: true })).toEqual({
      model: 'llama3.1:8b',
      prompt: 'Hello',
      stream: true,
    });
  });

  it('uses prompt or input when the path is completions or embeddings', () => {
    expect(defaultBody('/v1/completions')).toEqual({ model: 'llama-3.1-8b', prompt: 'Hello' });
    expect(defaultBody('/v1/embeddings')).toEqual({ model: 'llama-3.1-8b', input: 'Hello' });
    expect(defaultBody('/api/embed')).toEqual({ model: 'llama3.1:8b', input: 'Hello' });
  });

  it('falls back to a chat request when the path is not a known endpoint', () => {
    expect(defaultBody('/')).toHaveProperty('messages');
  });
});

describe('asksForStream', () => {
  it('follows the stream field, and Ollama native defaults when it is absent', () => {
    expect(asksForStream('/v1/chat/completions', { stream: true })).toBe(true);
    expect(asksForStream('/v1/chat/completions', {})).toBe(false);
    expect(asksForStream('/api/chat', {})).toBe(true);
    expect(asksForStream('/api/chat', { stream: false })).toBe(false);
    expect(asksForStream('/v1/chat/completions', 'text')).toBe(false);
  });
});

describe('framingOf', () => {
  it('recognizes SSE and NDJSON content types and nothing else', () => {
    expect(framingOf('text/event-stream; charset=utf-8')).toBe(Framing.SSE);
    expect(framingOf(['application/x-ndjson'])).toBe(Framing.NDJSON);
    expect(framingOf('application/json')).toBeNull();
    expect(framingOf(undefined)).toBeNull();
  });
});

function check(framing: Framing, chunks: string[]): boolean {
  const c = new StreamCheck(framing);
  for (const chunk of chunks) c.push(Buffer.from(chunk));
  return c.end();
}

describe('StreamCheck', () => {
  const ev = (o: unknown): string => `data: ${JSON.stringify(o)}\n\n`;

  it('accepts an SSE stream when it ends with [DONE], even cut mid-event', () => {
    const text = ev({ choices: [{ delta: { content: 'Hi' } }] }) + ': keep-alive\n\n' + 'data: [DONE]\n\n';
    expect(check(Framing.SSE, [text.slice(0, 7), text.slice(7, 40), text.slice(40)])).toBe(true);
    expect(check(Framing.SSE, [text.replaceAll('\n', '\r\n')])).toBe(true);
  });

  it('rejects an SSE stream when [DONE] is missing', () => {
    expect(check(Framing.SSE, [ev({ choices: [] })])).toBe(false);
    expect(check(Framing.SSE, [])).toBe(false);
  });

  it('rejects an SSE stream when an error event or a malformed event comes before the end', () => {
    expect(
      check(Framing.SSE, [ev({ choices: [] }), ev({ error: { message: 'x' } }), 'data: [DONE]\n\n']),
    ).toBe(false);
    expect(check(Framing.SSE, ['data: {"choices":\n\n', 'data: [DONE]\n\n'])).toBe(false);
  });

  it('accepts an NDJSON stream when its last line says done, with or without a final newline', () => {
    const lines = ['{"message":{"content":"Hi"},"done":false}\n', '{"done":true,"done_reason":"stop"}'];
    expect(check(Framing.NDJSON, lines)).toBe(true);
    expect(check(Framing.NDJSON, [lines.join('').slice(0, 20), lines.join('').slice(20) + '\n'])).toBe(true);
  });

  it('rejects an NDJSON stream when it has no done line or carries an error', () => {
    expect(check(Framing.NDJSON, ['{"message":{"content":"Hi"},"done":false}\n'])).toBe(false);
    expect(check(Framing.NDJSON, ['{"error":"model not found"}\n'])).toBe(false);
  });

  it('judges an event cut into thousands of chunks, and fails one longer than 16 MiB', () => {
    const long = ev({ choices: [{ delta: { content: 'x'.repeat(2_000_000) } }] });
    const chunks: string[] = [];
    for (let i = 0; i < long.length; i += 1000) chunks.push(long.slice(i, i + 1000));
    expect(check(Framing.SSE, [...chunks, 'data: [DONE]\n\n'])).toBe(true);
    const huge = `data: "${'y'.repeat(17 * 1024 * 1024)}"\n\n`;
    expect(check(Framing.SSE, [huge, 'data: [DONE]\n\n'])).toBe(false);
  });
});
