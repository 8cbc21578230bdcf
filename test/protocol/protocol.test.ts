import { describe, expect, it } from 'vitest';
import {
  EventKind,
  Framing,
  classifyEvent,
  endpointOf,
  errorEvent,
  fastScan,
  lastBoundary,
  normalizeErrorBody,
  splitEvents,
} from '../../src/protocol/index.ts';

describe('endpointOf', () => {
  it('recognises OpenAI and Ollama endpoints by path suffix when the method is POST', () => {
    expect(endpointOf('POST', '/v1/chat/completions')).toMatchObject({
      endpoint: 'chat',
      protocol: 'openai',
    });
    expect(endpointOf('POST', '/v1/completions')).toMatchObject({ endpoint: 'completions' });
    expect(endpointOf('POST', '/v1/embeddings')).toMatchObject({ endpoint: 'embeddings', degradable: false });
    expect(endpointOf('POST', '/api/chat')).toMatchObject({
      endpoint: 'ollama_chat',
      protocol: 'ollama',
      streamsByDefault: true,
    });
    expect(endpointOf('POST', '/api/embeddings')).toMatchObject({
      endpoint: 'ollama_embeddings',
      protocol: 'ollama',
    });
    expect(endpointOf('GET', '/v1/chat/completions')).toBeNull();
    expect(endpointOf('POST', '/v1/models')).toBeNull();
  });
});

describe('framing', () => {
  it('finds the end of the last complete SSE event when a chunk cuts one', () => {
    const buf = Buffer.from('data: {"a":1}\n\ndata: {"b"');
    expect(lastBoundary(Framing.SSE, buf)).toBe('data: {"a":1}\n\n'.length);
    expect(lastBoundary(Framing.SSE, Buffer.from('data: {"a":1}\n'))).toBe(0);
    expect(lastBoundary(Framing.SSE, Buffer.from('data: x\r\n\r\n'))).toBe(11);
  });

  it('finds the end of the last complete NDJSON line', () => {
    expect(lastBoundary(Framing.NDJSON, Buffer.from('{"a":1}\n{"b"'))).toBe(8);
    expect(lastBoundary(Framing.NDJSON, Buffer.from('{"a"'))).toBe(0);
  });

  it('joins multi-line data fields and skips comments when splitting SSE', () => {
    expect(splitEvents(Framing.SSE, ': ping\n\ndata: a\ndata: b\n\nevent: x\ndata:c\n\n')).toEqual([
      'a\nb',
      'c',
    ]);
    expect(splitEvents(Framing.NDJSON, '{"a":1}\n\n{"b":2}\n')).toEqual(['{"a":1}', '{"b":2}']);
  });
});

describe('classifyEvent', () => {
  it('tells data, done, in-band errors and malformed events apart', () => {
    expect(classifyEvent(Framing.SSE, '[DONE]').kind).toBe(EventKind.DONE);
    expect(classifyEvent(Framing.SSE, '{"choices":[]}').kind).toBe(EventKind.DATA);
    expect(classifyEvent(Framing.SSE, '{"error":{"message":"boom"}}')).toMatchObject({
      kind: 'error',
      message: 'boom',
    });
    expect(classifyEvent(Framing.NDJSON, '{"error":"oops"}')).toMatchObject({
      kind: 'error',
      message: 'oops',
    });
    expect(classifyEvent(Framing.NDJSON, '{"done":true}').kind).toBe(EventKind.DONE);
    expect(classifyEvent(Framing.NDJSON, '{"done":false}').kind).toBe(EventKind.DATA);
    expect(classifyEvent(Framing.SSE, '{oops').kind).toBe(EventKind.MALFORMED);
    expect(classifyEvent(Framing.NDJSON, '42').kind).toBe(EventKind.MALFORMED);
  });
});

describe('error bodies', () => {
  it('writes final stream error events in each protocol', () => {
    const sse = errorEvent(Framing.SSE, 'openai', 'cut', 'BW_ERR_STREAM_INTERRUPTED');
    expect(sse.startsWith('data: ')).toBe(true);
    expect(sse.endsWith('\n\n')).toBe(true);
    expect(JSON.parse(sse.slice(6)).error).toMatchObject({
      message: 'cut',
      code: 'BW_ERR_STREAM_INTERRUPTED',
    });
    expect(JSON.parse(errorEvent(Framing.NDJSON, 'ollama', 'cut', 'X'))).toEqual({ error: 'cut' });
  });

  it('normalises foreign error shapes and keeps native ones untouched', () => {
    expect(normalizeErrorBody('openai', 400, Buffer.from('{"error":{"message":"m"}}'))).toBeNull();
    expect(normalizeErrorBody('ollama', 404, Buffer.from('{"error":"m"}'))).toBeNull();
    expect(JSON.parse(normalizeErrorBody('ollama', 400, Buffer.from('{"error":{"message":"m"}}'))!)).toEqual({
      error: 'm',
    });
    expect(
      JSON.parse(normalizeErrorBody('openai', 404, Buffer.from('{"error":"model not found"}'))!).error,
    ).toMatchObject({
      message: 'model not found',
      type: 'not_found_error',
    });
    expect(JSON.parse(normalizeErrorBody('openai', 502, Buffer.from('Bad Gateway'))!).error.message).toBe(
      'Bad Gateway',
    );
    expect(JSON.parse(normalizeErrorBody('ollama', 500, Buffer.from(''))!)).toEqual({
      error: 'upstream answered HTTP 500',
    });
  });
});

describe('fastScan', () => {
  const sse = (s: string): Buffer => Buffer.from(s);

  it('accepts ordinary SSE events and notices the end marker', () => {
    expect(fastScan(Framing.SSE, sse('data: {"a":1}\n\ndata: {"b":2}\n\n'))).toEqual({
      events: 2,
      sawDone: false,
    });
    expect(fastScan(Framing.SSE, sse('data: {"a":1}\n\ndata: [DONE]\n\n'))).toEqual({
      events: 2,
      sawDone: true,
    });
  });

  it('hands anything unusual to the full reading', () => {
    expect(fastScan(Framing.SSE, sse('data: {"error":{"message":"x"}}\n\n'))).toBeNull();
    expect(fastScan(Framing.SSE, sse(': ping\n\n'))).toBeNull();
    expect(fastScan(Framing.SSE, sse('data: {"a":1}\r\n\r\n'))).toBeNull();
    expect(fastScan(Framing.SSE, sse('event: x\ndata: {"a":1}\n\n'))).toBeNull();
    expect(fastScan(Framing.SSE, sse('data: {"a":1\n\n'))).toBeNull();
    expect(fastScan(Framing.SSE, sse('data: [DONE]x\n\n'))).toBeNull();
    expect(fastScan(Framing.NDJSON, sse('{"a":1}\n{"done":true}\n'))).toBeNull();
    expect(fastScan(Framing.NDJSON, sse('{"a":1}\n{"cont\n'))).toBeNull();
  });

  it('accepts ordinary NDJSON lines', () => {
    expect(fastScan(Framing.NDJSON, sse('{"a":1,"done":false}\n{"b":2}\n'))).toEqual({
      events: 2,
      sawDone: false,
    });
  });
});
