import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { defaultBody, runLoad, type LoadOptions } from '../../src/loadtest/index.ts';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function stack(): Promise<Stack> {
  const s = await startStack();
  closers.push(() => s.close());
  return s;
}

async function mock(kind: 'max' | 'ollama'): Promise<MockServer> {
  const m = await startMock({ kind });
  closers.push(() => m.close());
  return m;
}

/** A loopback port with nothing listening: bound, then released (connections to it are refused). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function chatLoad(base: string, over: Partial<LoadOptions> = {}): LoadOptions {
  const stream = over.stream === true;
  return {
    url: `${base}/v1/chat/completions`,
    body: JSON.stringify(defaultBody('/v1/chat/completions', { stream })),
    requests: 20,
    concurrency: 4,
    ...over,
  };
}

describe('runLoad', () => {
  it('sends every request and reports tier `-` when talking to an upstream directly', async () => {
    const max = await mock('max');
    const { samples, summary } = await runLoad(chatLoad(max.url));
    expect(samples).toHaveLength(20);
    expect(max.stats().requests).toBe(20);
    expect(max.stats().last?.body).toEqual(defaultBody('/v1/chat/completions'));
    expect(max.stats().last?.headers['content-type']).toBe('application/json');
    expect(summary).toMatchObject({ requests: 20, sent: 20, responses: 20, ok: 20, errors: 0 });
    expect(summary.byTier).toEqual({ '-': { count: 20, pct: 100 } });
    expect(summary.byStatus).toEqual({ '200': 20 });
    expect(summary.latencyMs!.max).toBeGreaterThan(0);
    expect(summary.latencyMs!.p50).toBeLessThanOrEqual(summary.latencyMs!.p99);
    expect(summary.firstByteMs).toBeNull();
  });

  it('shows the secondary tier and a breaker that opened when the primary answers 503', async () => {
    const s = await stack();
    await s.max.setFault({ mode: 'status', status: 503 });
    const { summary } = await runLoad(chatLoad(s.proxyUrl, { requests: 60, concurrency: 6 }));
    expect(summary.byTier).toEqual({ 'ollama-cpu': { count: 60, pct: 100 } });
    expect(summary).toMatchObject({ requests: 60, ok: 60, errors: 0 });
    expect(s.sidecar.upstream('max-gpu')!.breaker.state).toBe('open');
    // Opens after 3 failures: MAX saw at most the 2 failures before that plus 6 calls in flight.
    expect(s.max.stats().requests).toBeGreaterThanOrEqual(3);
    expect(s.max.stats().requests).toBeLessThanOrEqual(2 + 6);
    expect(s.ollama.stats().requests).toBe(60);
  });

  it('records first-byte times and checks each stream ends when streaming through the sidecar', async () => {
    const s = await stack();
    const { samples, summary } = await runLoad(chatLoad(s.proxyUrl, { stream: true, requests: 30 }));
    expect(summary).toMatchObject({ requests: 30, ok: 30, errors: 0 });
    expect(summary.byTier).toEqual({ 'max-gpu': { count: 30, pct: 100 } });
    expect(s.max.stats().last?.body).toMatchObject({ stream: true });
    expect(summary.firstByteMs).not.toBeNull();
    for (const x of samples) expect(x.firstByteMs!).toBeLessThanOrEqual(x.latencyMs);
  });

  it('counts stream_error per tier when the sidecar has to cut streams until the breaker opens', async () => {
    const s = await stack();
    await s.max.setFault({ mode: 'reset-mid-stream', afterChunks: 2 });
    const { summary } = await runLoad(chatLoad(s.proxyUrl, { stream: true, requests: 8, concurrency: 1 }));
    // Bytes had reached the client: each of the 3 cut streams ends with an error event; then MAX is open.
    expect(summary.errorsByKind).toEqual({ stream_error: 3 });
    expect(summary.byTier).toEqual({
      'ollama-cpu': { count: 5, pct: 62.5 },
      'max-gpu': { count: 3, pct: 37.5 },
    });
    expect(summary.byStatus).toEqual({ '200': 8 });
    expect(summary.ok).toBe(5);
  });

  it('counts stream_error when the upstream sends an in-band error event', async () => {
    const max = await mock('max');
    await max.setFault({ mode: 'in-band-error' });
    const { summary } = await runLoad(chatLoad(max.url, { stream: true, requests: 6, concurrency: 3 }));
    expect(summary.errorsByKind).toEqual({ stream_error: 6 });
    expect(summary.byTier).toEqual({ '-': { count: 6, pct: 100 } });
  });

  it('counts stream_error when a stream was asked for and a plain body came back', async () => {
    const max = await mock('max');
    const body = JSON.stringify(defaultBody('/v1/chat/completions'));
    const { summary } = await runLoad(chatLoad(max.url, { stream: true, body, requests: 4 }));
    expect(summary.errorsByKind).toEqual({ stream_error: 4 });
  });

  it('checks NDJSON streams and plain answers when the target is Ollama native', async () => {
    const ollama = await mock('ollama');
    const url = `${ollama.url}/api/chat`;
    const streamed = await runLoad({
      url,
      body: JSON.stringify(defaultBody('/api/chat', { stream: true })),
      stream: true,
      requests: 10,
      concurrency: 2,
    });
    expect(streamed.summary).toMatchObject({ ok: 10, errors: 0 });
    expect(streamed.summary.firstByteMs).not.toBeNull();
    expect(ollama.stats().last?.body).toMatchObject({ model: 'llama3.1:8b', stream: true });
    const plain = await runLoad({
      url,
      body: JSON.stringify(defaultBody('/api/chat')),
      requests: 5,
      concurrency: 2,
    });
    expect(plain.summary).toMatchObject({ ok: 5, errors: 0, firstByteMs: null });
  });

  it('counts non_2xx by status when the upstream fails', async () => {
    const max = await mock('max');
    await max.setFault({ mode: 'status', status: 503, count: 5 });
    const { summary } = await runLoad(chatLoad(max.url, { requests: 12, concurrency: 1 }));
    expect(summary.byStatus).toEqual({ '200': 7, '503': 5 });
    expect(summary.errorsByKind).toEqual({ non_2xx: 5 });
    expect(summary.ok).toBe(7);
  });

  it('times requests out on the given clock when the upstream never answers', async () => {
    const max = await mock('max');
    await max.setFault({ mode: 'hang' });
    const clock = new ManualClock();
    const run = runLoad(chatLoad(max.url, { requests: 2, concurrency: 2, timeoutMs: 5_000 }), { clock });
    await max.waitForRequests(2);
    clock.advance(5_000);
    const { summary } = await run;
    expect(summary.errorsByKind).toEqual({ timeout: 2 });
    expect(summary).toMatchObject({ requests: 2, sent: 2, responses: 0 });
  });

  it('stops starting requests when the duration has passed and no count is given', async () => {
    const max = await mock('max');
    const clock = new ManualClock();
    const run = runLoad(chatLoad(max.url, { requests: null, durationMs: 1_000, concurrency: 2 }), { clock });
    await max.waitForRequests(6);
    clock.advance(1_000);
    const { summary } = await run;
    expect(summary.requests).toBeGreaterThanOrEqual(6);
    expect(summary.errors).toBe(0);
    expect(max.stats().requests).toBe(summary.requests);
  });

  it('stops starting requests when the signal aborts', async () => {
    const max = await mock('max');
    const ac = new AbortController();
    const run = runLoad(chatLoad(max.url, { requests: 100_000, concurrency: 1, signal: ac.signal }));
    await max.waitForRequests(3);
    ac.abort();
    const { summary } = await run;
    expect(summary.requests).toBeGreaterThanOrEqual(3);
    expect(summary.requests).toBeLessThan(100_000);
    expect(summary.errors).toBe(0);
  });

  it('reports connect_error for every request and nothing sent when the port refuses', async () => {
    const port = await closedPort();
    const { summary } = await runLoad(chatLoad(`http://127.0.0.1:${port}`, { requests: 5, concurrency: 2 }));
    expect(summary).toMatchObject({ requests: 5, sent: 0, responses: 0, latencyMs: null });
    expect(summary.errorsByKind).toEqual({ connect_error: 5 });
  });

  it('rejects with BW_ERR_REQUEST_INVALID when options are out of range', async () => {
    const base = chatLoad('http://127.0.0.1:1');
    for (const bad of [
      { ...base, requests: 0 },
      { ...base, concurrency: 0 },
      { ...base, requests: null },
      { ...base, url: 'ftp://127.0.0.1/' },
      { ...base, url: 'not a url' },
      { ...base, timeoutMs: 0 },
    ]) {
      await expect(runLoad(bad)).rejects.toMatchObject({ code: 'BW_ERR_REQUEST_INVALID' });
    }
  });
});
