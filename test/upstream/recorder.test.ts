import { describe, expect, it } from 'vitest';
import { Framing } from '../../src/protocol/index.ts';
import { Recorder } from '../../src/upstream/index.ts';

describe('Recorder', () => {
  it('keeps a one-chunk stream as that very chunk, and joins several once', () => {
    const one = Buffer.from('data: [DONE]\n\n');
    const r1 = new Recorder(1024);
    r1.push(one);
    expect(r1.stream(200, 'text/event-stream', Framing.SSE)!.body).toBe(one);
    const r2 = new Recorder(1024);
    r2.push(Buffer.from('ab'));
    r2.push(Buffer.from('cd'));
    expect(r2.stream(200, 'text/event-stream', Framing.SSE)).toEqual({
      status: 200,
      contentType: 'text/event-stream',
      framing: Framing.SSE,
      body: Buffer.from('abcd'),
    });
  });

  it('keeps nothing past its limit or for a status that is not a success', () => {
    const r = new Recorder(3);
    r.push(Buffer.from('ab'));
    r.push(Buffer.from('cd'));
    expect(r.stream(200, 'text/event-stream', Framing.SSE)).toBeNull();
    expect(new Recorder(10).whole(404, 'application/json', Buffer.from('{}'))).toBeNull();
    expect(new Recorder(1).whole(200, 'application/json', Buffer.from('{}'))).toBeNull();
  });

  it('records a whole answer as the bytes sent to the client, without a copy', () => {
    const body = Buffer.from('{"ok":true}');
    expect(new Recorder(100).whole(200, 'application/json', body)!.body).toBe(body);
  });
});
