import { describe, expect, it } from 'vitest';
import { Framing } from '../../src/protocol/index.ts';
import { Resumption, assistantPiece } from '../../src/upstream/index.ts';

describe('Resumption', () => {
  it('gathers the assistant text of OpenAI and Ollama events', () => {
    const r = new Resumption();
    r.track(Framing.SSE, ['{"choices":[{"delta":{"content":"Hel"}}]}', '[DONE]'], 2);
    r.track(Framing.NDJSON, ['{"message":{"content":"lo"}}'], 1);
    expect(r.text).toBe('Hello');
  });

  it('tracks only the events before `end`', () => {
    const r = new Resumption();
    r.track(
      Framing.SSE,
      ['{"choices":[{"delta":{"content":"a"}}]}', '{"choices":[{"delta":{"content":"b"}}]}'],
      1,
    );
    expect(r.text).toBe('a');
  });

  it('gives up for good once a tool call went by', () => {
    const r = new Resumption();
    r.track(Framing.SSE, ['{"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}'], 1);
    r.track(Framing.SSE, ['{"choices":[{"delta":{"content":"x"}}]}'], 1);
    expect(r.text).toBeNull();
  });

  it('builds the continuation: the text as an assistant message, the tier model when it rewrites', () => {
    const r = new Resumption();
    r.track(Framing.SSE, ['{"choices":[{"delta":{"content":"Hi th"}}]}'], 1);
    const json = { model: 'a', stream: true, messages: [{ role: 'user', content: 'Hi' }] };
    expect(JSON.parse(r.continuationBody(json, 'b').toString())).toEqual({
      model: 'b',
      stream: true,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hi th' },
      ],
    });
    expect(JSON.parse(r.continuationBody(json, null).toString()).model).toBe('a');
  });

  it('reads no text from events that carry none', () => {
    expect(assistantPiece(Framing.SSE, { choices: [{ delta: { role: 'assistant' } }] })).toBe('');
    expect(assistantPiece(Framing.NDJSON, { done: true })).toBe('');
    expect(assistantPiece(Framing.NDJSON, { message: { tool_calls: [] } })).toBeNull();
  });
});
