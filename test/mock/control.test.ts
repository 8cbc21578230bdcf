import { afterEach, describe, expect, it } from 'vitest';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { rawFetch, rawRequest } from './raw-http.ts';

let mocks: MockServer[] = [];
async function mock(kind: 'max' | 'ollama' = 'max'): Promise<MockServer> {
  const m = await startMock({ kind });
  mocks.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(mocks.map((m) => m.close()));
  mocks = [];
});

const CHAT = '{"model":"m","messages":[{"role":"user","content":"hi"}]}';

async function json(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const r = await rawFetch(base, { method, path, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: r.status, body: JSON.parse(r.text) as unknown };
}

describe('mock control API', () => {
  it('sets, reads and clears the fault on the control listener when called over HTTP', async () => {
    const m = await mock();
    expect(m.controlUrl).not.toBe(m.url);
    const set = await json(m.controlUrl, 'PUT', '/_mock/fault', { mode: 'status', status: 502, count: 3 });
    expect(set).toEqual({ status: 200, body: { mode: 'status', status: 502, count: 3 } });
    expect((await rawFetch(m.url, { path: '/v1/chat/completions', body: CHAT })).status).toBe(502);
    expect((await json(m.controlUrl, 'GET', '/_mock/fault')).body).toEqual({
      mode: 'status',
      status: 502,
      count: 2,
    });
    expect((await json(m.controlUrl, 'DELETE', '/_mock/fault')).body).toEqual({ mode: 'none' });
    expect((await rawFetch(m.url, { path: '/v1/chat/completions', body: CHAT })).status).toBe(200);
  });

  it('accepts the same routes under /_mock on the API port when called with POST', async () => {
    const m = await mock('ollama');
    const set = await json(m.url, 'POST', '/_mock/fault', { mode: 'in-band-error' });
    expect(set.status).toBe(200);
    expect(m.fault()).toEqual({ mode: 'in-band-error' });
    // Control calls are not counted as API requests.
    expect(m.stats().requests).toBe(0);
  });

  it('answers 400 naming the field when the fault is invalid', async () => {
    const m = await mock();
    const bad = await json(m.controlUrl, 'PUT', '/_mock/fault', { mode: 'explode' });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: string }).error).toMatch(/^fault\.mode: /);
    const junk = await rawFetch(m.controlUrl, { method: 'PUT', path: '/_mock/fault', body: '{' });
    expect(junk.status).toBe(400);
    expect(m.fault()).toEqual({ mode: 'none' });
  });

  it('answers the refuse call on the API port, then refuses, and restores from the control port', async () => {
    const m = await mock();
    const set = await json(m.url, 'PUT', '/_mock/fault', { mode: 'refuse' });
    expect(set).toEqual({ status: 200, body: { mode: 'refuse' } });
    await expect(rawRequest(m.url, { path: '/health' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await json(m.controlUrl, 'DELETE', '/_mock/fault')).status).toBe(200);
    expect((await rawFetch(m.url, { path: '/health' })).status).toBe(200);
  });

  it('reports and resets stats when asked over HTTP', async () => {
    const m = await mock();
    await rawFetch(m.url, { path: '/v1/chat/completions', body: CHAT });
    const stats = await json(m.controlUrl, 'GET', '/_mock/stats');
    expect(stats.body).toMatchObject({
      requests: 1,
      byPath: { '/v1/chat/completions': 1 },
      last: { method: 'POST' },
    });
    const reset = await json(m.controlUrl, 'POST', '/_mock/stats/reset');
    expect(reset.body).toEqual({
      requests: 0,
      faulted: 0,
      byPath: {},
      last: null,
      inflight: 0,
      peakInflight: 0,
    });
  });

  it('counts requests in flight and the most at once when responses are held', async () => {
    const m = await mock();
    await m.setFault({ mode: 'hang' });
    const held = [1, 2, 3].map(() =>
      rawFetch(m.url, { path: '/v1/chat/completions', body: CHAT }).catch(() => null),
    );
    await m.waitForRequests(3);
    expect(m.stats()).toMatchObject({ inflight: 3, peakInflight: 3 });
    m.resetStats();
    expect(m.stats()).toMatchObject({ requests: 0, inflight: 3, peakInflight: 3 });
    await m.close();
    await Promise.all(held);
    expect(m.stats()).toMatchObject({ inflight: 0, peakInflight: 3 });
  });

  it('changes the reply and chunking when config is put', async () => {
    const m = await mock();
    const put = await json(m.controlUrl, 'PUT', '/_mock/config', {
      replyText: 'ok {model}',
      streamChunks: 2,
    });
    expect(put.body).toMatchObject({ replyText: 'ok {model}', streamChunks: 2 });
    const r = await rawFetch(m.url, { path: '/v1/chat/completions', body: CHAT });
    expect(JSON.parse(r.text).choices[0].message.content).toBe('ok m');
    const bad = await json(m.controlUrl, 'PUT', '/_mock/config', { streamChunks: 0 });
    expect(bad.status).toBe(400);
    expect(m.config().streamChunks).toBe(2);
  });

  it('answers 404 when the control route is unknown', async () => {
    const m = await mock();
    expect((await json(m.controlUrl, 'GET', '/_mock/nothing')).status).toBe(404);
  });
});
