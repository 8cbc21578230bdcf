import { describe, expect, it } from 'vitest';
import { degradedAnswer } from '../../src/degraded/index.ts';
import { endpointOf } from '../../src/protocol/index.ts';

const NOW = 1_700_000_000_000;
const ep = (path: string) => endpointOf('POST', path)!;

describe('degradedAnswer', () => {
  it('answers an OpenAI chat call as a chat.completion with the configured text and status', () => {
    const a = degradedAnswer(ep('/v1/chat/completions'), 'm', false, 'sorry', 203, NOW)!;
    expect(a.status).toBe(203);
    expect(a.contentType).toBe('application/json');
    const body = JSON.parse(a.body);
    expect(body).toMatchObject({ object: 'chat.completion', model: 'm', created: NOW / 1000 });
    expect(body.choices[0].message).toEqual({ role: 'assistant', content: 'sorry' });
  });

  it('answers a stream request with one event and [DONE]', () => {
    const a = degradedAnswer(ep('/v1/chat/completions'), 'm', true, 'sorry', 200, NOW)!;
    expect(a.contentType).toBe('text/event-stream');
    const events = a.body.split('\n\n').filter(Boolean);
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[0]!.slice(6)).choices[0].delta.content).toBe('sorry');
    expect(events[1]).toBe('data: [DONE]');
  });

  it('answers completions as text_completion, with usage only when whole', () => {
    const whole = JSON.parse(degradedAnswer(ep('/v1/completions'), 'm', false, 'x', 200, NOW)!.body);
    expect(whole).toMatchObject({ object: 'text_completion', usage: { total_tokens: 0 } });
    const stream = degradedAnswer(ep('/v1/completions'), 'm', true, 'x', 200, NOW)!;
    expect(JSON.parse(stream.body.split('\n\n')[0]!.slice(6)).usage).toBeUndefined();
  });

  it('answers Ollama chat and generate as one record with done: true (NDJSON when streamed)', () => {
    const chat = degradedAnswer(ep('/api/chat'), 'llama', true, 'sorry', 200, NOW)!;
    expect(chat.contentType).toBe('application/x-ndjson');
    expect(chat.body.endsWith('\n')).toBe(true);
    expect(JSON.parse(chat.body)).toMatchObject({
      model: 'llama',
      message: { role: 'assistant', content: 'sorry' },
      done: true,
      created_at: new Date(NOW).toISOString(),
    });
    const gen = JSON.parse(degradedAnswer(ep('/api/generate'), 'llama', false, 'sorry', 200, NOW)!.body);
    expect(gen).toMatchObject({ response: 'sorry', done: true });
  });

  it('has no degraded form for embeddings', () => {
    expect(degradedAnswer(ep('/v1/embeddings'), 'm', false, 'x', 200, NOW)).toBeNull();
    expect(degradedAnswer(ep('/api/embed'), 'm', false, 'x', 200, NOW)).toBeNull();
  });

  it('gives every answer its own id', () => {
    const a = JSON.parse(degradedAnswer(ep('/v1/chat/completions'), 'm', false, 'x', 200, NOW)!.body).id;
    const b = JSON.parse(degradedAnswer(ep('/v1/chat/completions'), 'm', false, 'x', 200, NOW)!.body).id;
    expect(a).not.toBe(b);
  });
});
