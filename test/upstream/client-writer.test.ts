import { describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import { Framing } from '../../src/protocol/index.ts';
import { ClientWriter } from '../../src/upstream/index.ts';
import { FakeController, FakeResponse, nextTick } from './fake-response.ts';

const upstreamHeaders = { 'content-type': 'text/event-stream', connection: 'keep-alive', 'x-up': '1' };
const tierHeaders = { 'x-breakwater-tier': 'max-gpu' };

function writer(protocol: 'openai' | 'ollama' = 'openai'): { w: ClientWriter; res: FakeResponse } {
  const res = new FakeResponse();
  return { w: new ClientWriter(res.asResponse(), protocol), res };
}

describe('ClientWriter', () => {
  it('holds the head of a stream until its first write', async () => {
    const { w, res } = writer();
    w.holdStream(200, upstreamHeaders, tierHeaders, Framing.SSE);
    expect(res.headersSent).toBe(false);
    expect(w.committed).toBe(false);
    w.write(Buffer.from('data: {}\n\n'));
    expect(res.status).toBe(200);
    expect(res.headers).toEqual({
      'content-type': 'text/event-stream',
      'x-up': '1',
      'x-breakwater-tier': 'max-gpu',
    });
    expect(w.committed).toBe(true);
    await nextTick();
    expect(res.writes).toEqual(['data: {}\n\n']);
  });

  it('gathers the writes of one tick into one write when the stream goes on', async () => {
    const { w, res } = writer();
    w.holdStream(200, upstreamHeaders, tierHeaders, Framing.SSE);
    w.write(Buffer.from('a'));
    w.write(Buffer.from('b'));
    expect(res.writes).toEqual([]);
    await nextTick();
    expect(res.writes).toEqual(['ab']);
  });

  it('ends with what the tick gathered in one write when the end follows at once', () => {
    const { w, res } = writer();
    w.holdStream(200, upstreamHeaders, tierHeaders, Framing.SSE);
    w.write(Buffer.from('a'));
    w.end();
    expect(res.writes).toEqual([]);
    expect(res.ended).toBe('a');
  });

  it('pauses its source while the client does not drain, and resumes it on drain', async () => {
    const { w, res } = writer();
    const source = new FakeController();
    w.holdStream(200, upstreamHeaders, tierHeaders, Framing.SSE);
    w.bind(source as unknown as Dispatcher.DispatchController);
    res.full = true;
    w.write(Buffer.from('a'));
    await nextTick();
    expect(source.paused).toBe(true);
    res.emit('drain');
    expect(source.paused).toBe(false);
    w.unbind();
    expect(res.listenerCount('drain')).toBe(0);
  });

  it('ends a cut stream with the error event of its protocol', () => {
    const sse = writer('openai');
    sse.w.holdStream(200, upstreamHeaders, tierHeaders, Framing.SSE);
    sse.w.write(Buffer.from('data: {"x":1}\n\n'));
    sse.w.endWithError('boom', 'BW_ERR_STREAM_INTERRUPTED');
    expect(sse.res.ended).toMatch(/^data: \{"x":1\}\n\ndata: \{"error":\{"message":"boom"/);
    expect(sse.res.ended).toContain('"code":"BW_ERR_STREAM_INTERRUPTED"');
    expect(sse.res.ended!.endsWith('\n\n')).toBe(true);
    const nd = writer('ollama');
    nd.w.holdStream(200, { 'content-type': 'application/x-ndjson' }, tierHeaders, Framing.NDJSON);
    nd.w.write(Buffer.from('{"x":1}\n'));
    nd.w.endWithError('boom', 'BW_ERR_STREAM_INTERRUPTED');
    expect(nd.res.ended).toBe('{"x":1}\n{"error":"boom"}\n');
  });

  it('rewrites a whole error answer into the client protocol and sets its length', () => {
    const { w, res } = writer('ollama');
    const sent = w.answerWhole(
      404,
      { 'content-type': 'text/plain', 'content-length': '9' },
      tierHeaders,
      Buffer.from('not found'),
    );
    expect(res.status).toBe(404);
    expect(res.ended).toBe('{"error":"not found"}');
    expect(sent.toString()).toBe(res.ended);
    expect(res.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(res.ended!)),
    });
  });

  it('sends a whole success body as the same bytes', () => {
    const { w } = writer();
    const raw = Buffer.from('{"ok":true}');
    expect(w.answerWhole(200, { 'content-type': 'application/json' }, tierHeaders, raw)).toBe(raw);
  });

  it('forgets a held head when the call fails before its first token', () => {
    const { w, res } = writer();
    w.holdStream(200, upstreamHeaders, tierHeaders, Framing.SSE);
    w.release();
    expect(w.framing).toBeNull();
    w.abort('shutting down');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.ended!)).toMatchObject({ error: { code: 'BW_ERR_SHUTDOWN_TIMEOUT' } });
  });

  it('ends an open stream with a shutdown error event on abort, and destroys a finished head', () => {
    const open = writer();
    open.w.holdStream(200, upstreamHeaders, tierHeaders, Framing.SSE);
    open.w.write(Buffer.from('data: {}\n\n'));
    open.w.abort('bye');
    expect(open.res.ended).toContain('BW_ERR_SHUTDOWN_TIMEOUT');
    const whole = writer();
    whole.res.writeHead(200, {});
    whole.w.abort('bye');
    expect(whole.res.destroyed).toBe(true);
  });
});
