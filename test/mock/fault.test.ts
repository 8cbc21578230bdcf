import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { startMock, type MockOptions, type MockServer } from '../../src/mock/index.ts';
import { ndjsonLines, rawFetch, rawRequest, roundTrip, sseData } from './raw-http.ts';

let mocks: MockServer[] = [];
async function mock(options: MockOptions): Promise<MockServer> {
  const m = await startMock(options);
  mocks.push(m);
  return m;
}

afterEach(async () => {
  await Promise.all(mocks.map((m) => m.close()));
  mocks = [];
});

/** One stream request per kind, with how to count its events and spot its in-band error. */
const KINDS = [
  {
    kind: 'max' as const,
    path: '/v1/chat/completions',
    body: '{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}',
    json: '{"model":"m","messages":[{"role":"user","content":"hi"}]}',
    events: sseData,
    isError: (e: string) => JSON.parse(e).error?.code === '500',
    ended: (t: string) => t.endsWith('data: [DONE]\n\n'),
  },
  {
    kind: 'ollama' as const,
    path: '/api/chat',
    body: '{"model":"m","messages":[{"role":"user","content":"hi"}]}',
    json: '{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false}',
    events: ndjsonLines,
    isError: (e: string) => typeof JSON.parse(e).error === 'string',
    ended: (t: string) => t.includes('"done":true'),
  },
];

describe.each(KINDS)('mock $kind faults', (k) => {
  it('answers the status with the protocol error body when mode is status', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'status', status: 503 } });
    const r = await rawFetch(m.url, { path: k.path, body: k.body });
    expect(r.status).toBe(503);
    const err = JSON.parse(r.text).error;
    expect(typeof err === 'string' ? err : err.message).toContain('Service Unavailable');
    expect(m.stats().faulted).toBe(1);
  });

  it('sends the given body when mode is status with a body', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'status', status: 429, body: { error: 'busy' } } });
    const r = await rawFetch(m.url, { path: k.path, body: k.body });
    expect([r.status, r.text]).toEqual([429, '{"error":"busy"}']);
  });

  it('reverts to none after count requests when count is set', async () => {
    const m = await mock({ kind: k.kind });
    await m.setFault({ mode: 'status', status: 500, count: 2 });
    expect(m.fault()).toEqual({ mode: 'status', status: 500, count: 2 });
    expect((await rawFetch(m.url, { path: k.path, body: k.body })).status).toBe(500);
    expect(m.fault().count).toBe(1);
    expect((await rawFetch(m.url, { path: k.path, body: k.body })).status).toBe(500);
    expect((await rawFetch(m.url, { path: k.path, body: k.body })).status).toBe(200);
    expect(m.fault()).toEqual({ mode: 'none' });
  });

  it('leaves non-LLM paths alone unless pathPrefix names them', async () => {
    const health = k.kind === 'max' ? '/health' : '/';
    const m = await mock({ kind: k.kind, fault: { mode: 'status', status: 503 } });
    expect((await rawFetch(m.url, { path: health })).status).toBe(200);
    await m.setFault({ mode: 'status', status: 503, pathPrefix: health });
    expect((await rawFetch(m.url, { path: health })).status).toBe(503);
  });

  it('refuses connections and listens again on the same port when refuse is cleared', async () => {
    const m = await mock({ kind: k.kind });
    expect((await rawFetch(m.url, { path: k.path, body: k.body })).status).toBe(200);
    await m.setFault({ mode: 'refuse' });
    await expect(rawRequest(m.url, { path: k.path, body: k.body })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    await m.clearFault();
    const r = await rawFetch(m.url, { path: k.path, body: k.body });
    expect(r.status).toBe(200);
    expect(new URL(m.url).port).toBe(String(m.port));
  });

  it('resets the connection before any response when mode is reset', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'reset' } });
    await expect(rawRequest(m.url, { path: k.path, body: k.body })).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
    expect(m.stats()).toMatchObject({ requests: 1, faulted: 1 });
  });

  it('never answers when mode is hang, until close ends the socket', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'hang' } });
    let answered = false;
    const pending = rawRequest(m.url, { path: k.path, body: k.body }).then(
      () => (answered = true),
      (e: NodeJS.ErrnoException) => e.code,
    );
    await m.waitForRequests(1);
    await roundTrip(m.controlUrl);
    expect(answered).toBe(false);
    await m.close();
    expect(await pending).toBe('ECONNRESET');
  });

  it('sends headers at once and the first event only after delayMs when mode is slow', async () => {
    const clock = new ManualClock();
    const m = await mock({ kind: k.kind, clock, fault: { mode: 'slow', delayMs: 5_000 } });
    const r = await rawRequest(m.url, { path: k.path, body: k.body });
    expect(r.status).toBe(200);
    await roundTrip(m.url);
    expect(r.text()).toBe('');
    clock.advance(4_999);
    await roundTrip(m.url);
    expect(r.text()).toBe('');
    clock.advance(1);
    const done = await r.done;
    expect(done.outcome).toBe('end');
    expect(k.ended(done.text)).toBe(true);
  });

  it('delays the whole response when mode is slow and the request does not stream', async () => {
    const clock = new ManualClock();
    const m = await mock({ kind: k.kind, clock, fault: { mode: 'slow', delayMs: 3_000 } });
    let status = 0;
    const pending = rawFetch(m.url, { path: k.path, body: k.json }).then((r) => (status = r.status));
    await m.waitForRequests(1);
    await roundTrip(m.controlUrl);
    expect(status).toBe(0);
    clock.advance(3_000);
    expect(await pending).toBe(200);
  });

  it('sends afterChunks events then resets when mode is reset-mid-stream', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'reset-mid-stream', afterChunks: 3 } });
    const r = await rawRequest(m.url, { path: k.path, body: k.body });
    expect(r.status).toBe(200);
    const done = await r.done;
    expect(done).toMatchObject({ outcome: 'error', code: 'ECONNRESET' });
    expect(k.events(done.text)).toHaveLength(3);
  });

  it('resets after headers when reset-mid-stream has afterChunks 0', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'reset-mid-stream', afterChunks: 0 } });
    const r = await rawRequest(m.url, { path: k.path, body: k.body });
    expect(r.status).toBe(200);
    expect(await r.done).toEqual({ outcome: 'error', code: 'ECONNRESET', text: '' });
  });

  it('sends the in-band error as the first event after 200 headers when mode is in-band-error', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'in-band-error' } });
    const r = await rawRequest(m.url, { path: k.path, body: k.body });
    expect(r.status).toBe(200);
    const done = await r.done;
    expect(done.outcome).toBe('end');
    const events = k.events(done.text);
    expect(events).toHaveLength(1);
    expect(k.isError(events[0]!)).toBe(true);
  });

  it('answers 500 with the error body when mode is in-band-error and the request does not stream', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'in-band-error' } });
    const r = await rawFetch(m.url, { path: k.path, body: k.json });
    expect(r.status).toBe(500);
    expect(JSON.parse(r.text)).toHaveProperty('error');
  });

  it('sends afterChunks events then goes silent with the socket open when mode is stall-mid-stream', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'stall-mid-stream' } });
    const r = await rawRequest(m.url, { path: k.path, body: k.body });
    await r.waitFor((t) => k.events(t).length >= 2);
    await roundTrip(m.url);
    expect(k.events(r.text())).toHaveLength(2);
    let settled = false;
    void r.done.then(() => (settled = true));
    await roundTrip(m.url);
    expect(settled).toBe(false);
    await m.close();
    expect((await r.done).outcome).toBe('error');
  });

  it('sends afterChunks events then a line that is not JSON when mode is malformed', async () => {
    const m = await mock({ kind: k.kind, fault: { mode: 'malformed', afterChunks: 1 } });
    const done = await (await rawRequest(m.url, { path: k.path, body: k.body })).done;
    expect(done.outcome).toBe('end');
    const events = k.events(done.text);
    expect(events).toHaveLength(2);
    expect(() => {
      JSON.parse(events[0]!);
    }).not.toThrow();
    expect(() => {
      JSON.parse(events[1]!);
    }).toThrow();
  });

  it('spaces stream events by chunkDelayMs on the clock when configured', async () => {
    const clock = new ManualClock();
    const m = await mock({ kind: k.kind, clock, chunkDelayMs: 100, streamChunks: 2 });
    const r = await rawRequest(m.url, { path: k.path, body: k.body });
    await r.waitFor((t) => k.events(t).length >= 1);
    await roundTrip(m.url);
    expect(k.events(r.text())).toHaveLength(1);
    clock.advance(100);
    await r.waitFor((t) => k.events(t).length >= 2);
    await roundTrip(m.url);
    expect(k.events(r.text())).toHaveLength(2);
    for (let i = 0; i < 10; i++) clock.advance(100);
    expect(k.ended((await r.done).text)).toBe(true);
  });
});

describe('mock fault validation', () => {
  it('rejects a fault naming the bad field when the spec is invalid', async () => {
    const m = await mock({ kind: 'max' });
    await expect(m.setFault({ mode: 'status', status: 99 })).rejects.toMatchObject({
      code: 'BW_ERR_REQUEST_INVALID',
      message: expect.stringContaining('fault.status') as unknown,
    });
    await expect(m.setFault({ mode: 'refuse', count: 1 })).rejects.toMatchObject({
      code: 'BW_ERR_REQUEST_INVALID',
    });
    expect(m.fault()).toEqual({ mode: 'none' });
  });

  it('rejects startMock with BW_ERR_LISTEN_FAILED when the port is taken', async () => {
    const a = await mock({ kind: 'max' });
    await expect(startMock({ kind: 'max', port: a.port })).rejects.toMatchObject({
      code: 'BW_ERR_LISTEN_FAILED',
    });
  });
});
