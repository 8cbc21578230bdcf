import { describe, expect, it } from 'vitest';
import { Framing } from '../../src/protocol/index.ts';
import { ClientWriter, Resumption, StreamRelay } from '../../src/upstream/index.ts';
import { FakeResponse } from './fake-response.ts';

const ev = (content: string): string =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;
const DONE = 'data: [DONE]\n\n';

function relay(
  framing: Framing = Framing.SSE,
  resumption: Resumption | null = null,
  interToken: { observe(seconds: number): void } | null = null,
) {
  const res = new FakeResponse();
  const writer = new ClientWriter(res.asResponse(), framing === Framing.SSE ? 'openai' : 'ollama');
  writer.holdStream(200, { 'content-type': 'text/event-stream' }, {}, framing);
  const r = new StreamRelay(framing, writer, resumption, Number.MAX_SAFE_INTEGER, interToken);
  return { relay: r, writer, res };
}

/** An inter-token histogram that keeps what it is given. */
function gaps(): { observe(seconds: number): void; seen: number[] } {
  const seen: number[] = [];
  return { observe: (s) => seen.push(s), seen };
}

describe('StreamRelay', () => {
  it('relays whole events, keeps a cut one until it completes, and ends well after [DONE]', () => {
    const { relay: r, writer, res } = relay();
    const all = ev('Hel') + ev('lo') + DONE;
    const cut = all.indexOf('lo') + 1;
    expect(r.push(Buffer.from(all.slice(0, cut)))).toBeNull();
    expect(r.started).toBe(true);
    expect(r.push(Buffer.from(all.slice(cut)))).toBeNull();
    expect(r.end()).toBeNull();
    writer.end();
    expect(res.body).toBe(all);
    expect(r.sawDone).toBe(true);
  });

  it('reports an in-band error as the first event without writing anything', () => {
    const { relay: r, writer, res } = relay();
    const bad = r.push(Buffer.from('data: {"error":{"message":"model overloaded"}}\n\n'));
    expect(bad).toEqual({ kind: 'in_band', message: 'model overloaded', status: null });
    expect(r.started).toBe(false);
    expect(writer.committed).toBe(false);
    expect(res.headersSent).toBe(false);
  });

  it('passes the good events of a chunk before a bad one, re-framed', () => {
    const { relay: r, writer, res } = relay();
    const bad = r.push(Buffer.from(ev('a') + 'data: not json\n\n'));
    expect(bad?.kind).toBe('malformed');
    writer.end();
    expect(res.body).toBe(ev('a'));
  });

  it('does not commit on SSE comments before the first event', () => {
    const { relay: r, writer } = relay();
    expect(r.push(Buffer.from(': keep-alive\n\n'))).toBeNull();
    expect(r.started).toBe(false);
    expect(writer.committed).toBe(false);
  });

  it('judges the end: no event at all is malformed, no end marker is a reset', () => {
    expect(relay().relay.end()?.kind).toBe('malformed');
    const { relay: r } = relay();
    r.push(Buffer.from(ev('a')));
    expect(r.end()).toEqual({ kind: 'reset', message: 'stream ended without its end marker', status: null });
  });

  it('counts a last NDJSON record without its newline', () => {
    const { relay: r, writer, res } = relay(Framing.NDJSON);
    r.push(Buffer.from('{"message":{"content":"a"},"done":false}\n{"done":true}'));
    expect(r.end()).toBeNull();
    writer.end();
    expect(res.body).toBe('{"message":{"content":"a"},"done":false}\n{"done":true}');
  });

  it('feeds the assistant text to the resumption it tracks for', () => {
    const resumption = new Resumption();
    const { relay: r } = relay(Framing.SSE, resumption);
    r.push(Buffer.from(ev('Hel') + ev('lo')));
    expect(resumption.text).toBe('Hello');
  });

  it('counts events without the end marker, times the gaps between reads and reads the usage chunk', () => {
    const itl = gaps();
    const { relay: r } = relay(Framing.SSE, null, itl);
    r.push(Buffer.from(ev('Hel') + ev('lo')), 1000);
    r.push(Buffer.from(': keep-alive\n\n'), 1010);
    r.push(Buffer.from(ev(' you')), 1040);
    r.push(Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}}\n\n'), 1100);
    r.push(Buffer.from(DONE), 1150);
    expect(r.end()).toBeNull();
    expect(itl.seen).toEqual([0.04, 0.06]);
    expect(r.tokens(990)).toEqual({ usage: { prompt: 5, completion: 3 }, events: 4, outputMs: 110 });
  });

  it('reports no usage for a stream that sent none, with its events for the estimate', () => {
    const { relay: r } = relay();
    r.push(Buffer.from(ev('a') + ev('b') + ev('c') + DONE), 5);
    expect(r.end()).toBeNull();
    expect(r.tokens(5)).toEqual({ usage: null, events: 3, outputMs: 0 });
  });

  it("reads Ollama's counts from the done record, which is not counted as an event", () => {
    const { relay: r } = relay(Framing.NDJSON);
    r.push(Buffer.from('{"message":{"content":"a"},"done":false}\n'), 10);
    r.push(Buffer.from('{"message":{"content":"b"},"done":false}\n'), 30);
    r.push(Buffer.from('{"done":true,"prompt_eval_count":7,"eval_count":2}\n'), 31);
    expect(r.end()).toBeNull();
    expect(r.tokens(10)).toEqual({ usage: { prompt: 7, completion: 2 }, events: 2, outputMs: 20 });
  });

  it('counts usage as absent, never failing the stream, when the usage chunk is malformed', () => {
    const { relay: r } = relay();
    r.push(Buffer.from(ev('a') + 'data: {"choices":[],"usage":{"prompt_tokens":-4}}\n\n' + DONE), 1);
    expect(r.end()).toBeNull();
    expect(r.tokens(1).usage).toBeNull();
  });
});
