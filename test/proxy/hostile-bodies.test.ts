import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { chatBody, startStack, type Stack } from '../helpers/stack.ts';
import { spawnCli, type Child } from '../sidecar/helpers.ts';
import { exchange, type WireResult } from './helpers.ts';

// LLM call bodies built to stall the event loop: a million keys in 8 MiB (JSON.parse held the loop
// 0.75 s per request), 100 000 nested arrays (the cache key threw RangeError → 500). They are
// refused by limits.maxJsonMembers / limits.maxJsonDepth while they arrive, and liveness answers
// within 100 ms while several are sent at once.

let stack: Stack | null = null;
const open: { children: Child[]; mocks: MockServer[]; dirs: string[] } = {
  children: [],
  mocks: [],
  dirs: [],
};
afterEach(async () => {
  await stack?.close();
  stack = null;
  for (const c of open.children.splice(0)) {
    c.proc.kill('SIGKILL');
    await c.exited;
  }
  await Promise.all(open.mocks.splice(0).map((m) => m.close()));
  await Promise.all(open.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const MiB = 1024 * 1024;

/**
 * `{"model":"m","k0":0,"k1":1,…}` of about `bytes` bytes (one key per ~10 bytes), written straight
 * into one Buffer: no million small strings for the test process to collect while it measures.
 */
function manyKeys(bytes: number): Buffer {
  const buf = Buffer.allocUnsafe(bytes);
  let at = buf.write('{"model":"m"');
  for (let i = 0; at < bytes - 24; i++) at += buf.write(`,"k${i}":${i % 10}`, at, 'latin1');
  at += buf.write('}', at);
  return buf.subarray(0, at);
}

const nested = (depth: number): string => `{"model":"m","messages":${'['.repeat(depth)}${']'.repeat(depth)}}`;

function post(path: string, body: string | Buffer): Buffer {
  const head = `POST ${path} HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), typeof body === 'string' ? Buffer.from(body) : body]);
}

function errorOf(r: WireResult): { status: number; code: unknown; message: string } {
  const res = r.responses[0]!;
  const body = JSON.parse(res.body) as { error: { code: string; message: string } | string };
  return typeof body.error === 'string'
    ? { status: res.status, code: null, message: body.error }
    : { status: res.status, code: body.error.code, message: body.error.message };
}

describe('hostile JSON bodies', () => {
  it('refuses a body of a million keys with a JSON 413 naming limits.maxJsonMembers', async () => {
    stack = await startStack();
    const r = await exchange(stack.proxyPort, post('/v1/chat/completions', manyKeys(8 * MiB - 1024)));
    expect(r.responses).toHaveLength(1);
    expect(errorOf(r)).toEqual({
      status: 413,
      code: 'BW_ERR_BODY_TOO_COMPLEX',
      message: 'request body has more than 20000 JSON members (limits.maxJsonMembers)',
    });
    expect(r.closed).toBe(true);
    expect(stack.max.stats().requests).toBe(0);
  });

  it('refuses 100 000 nested arrays with a JSON 413 naming limits.maxJsonDepth, in Ollama shape on /api', async () => {
    stack = await startStack();
    const r = await exchange(stack.proxyPort, post('/v1/chat/completions', nested(100_000)));
    expect(errorOf(r)).toEqual({
      status: 413,
      code: 'BW_ERR_BODY_TOO_COMPLEX',
      message: 'request body nested deeper than 64 levels (limits.maxJsonDepth)',
    });
    const o = await exchange(stack.proxyPort, post('/api/chat', nested(100_000)));
    expect(errorOf(o)).toEqual({
      status: 413,
      code: null,
      message: 'request body nested deeper than 64 levels (limits.maxJsonDepth)',
    });
    expect(stack.max.stats().requests + stack.ollama.stats().requests).toBe(0);
  });

  it('serves a body at both limits and refuses it one member over', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
limits: { maxJsonDepth: 64, maxJsonMembers: 20000 }
upstreams: { max-gpu: { url: ${max} }, ollama-cpu: { url: ${ollama} } }
`,
    });
    // 4 top-level keys, 1 message with 2 keys, 62 arrays each holding the next in "deep", and the
    // filler's items: 20 000 members in all; the object and 63 arrays: 64 levels.
    const filler = Array.from({ length: 20_000 - 4 - 1 - 2 - 62 }, (_, i) => i);
    const body = `{"model":"m","messages":[{"role":"user","content":"hi"}],"deep":${'['.repeat(63)}${']'.repeat(63)},"filler":${JSON.stringify(filler)}}`;
    const r = await exchange(stack.proxyPort, post('/v1/chat/completions', body), { responses: 1 });
    expect(r.responses[0]!.status).toBe(200);
    const over = body.replace('"filler":[', '"filler":[0,');
    const o = await exchange(stack.proxyPort, post('/v1/chat/completions', over), { responses: 1 });
    expect(errorOf(o).status).toBe(413);
  });

  it('refuses a body as soon as it goes over, before the rest of it is sent', async () => {
    stack = await startStack();
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Length: ${8 * MiB}\r\n\r\n`;
    const start = manyKeys(512 * 1024);
    const r = await exchange(stack.proxyPort, Buffer.concat([Buffer.from(head), start.subarray(0, -1)]), {
      responses: 1,
    });
    expect(errorOf(r).code).toBe('BW_ERR_BODY_TOO_COMPLEX');
  });

  it('refuses a body with 503 and Retry-After while the bodies held at once would pass limits.maxBufferedBytes, and gives the bytes back', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
limits: { maxRequestBody: 4KiB, maxBufferedBytes: 6KiB }
upstreams: { max-gpu: { url: ${max} }, ollama-cpu: { url: ${ollama} } }
`,
    });
    const body = (n: number): string => {
      const base = JSON.stringify(chatBody({ pad: '' }));
      return JSON.stringify(chatBody({ pad: 'x'.repeat(n - base.length) }));
    };
    const big = body(4000);
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`;
    // A holds 3000 bytes of its body and waits; B's whole body would make 7000 of 6144.
    const a = connect(stack.proxyPort, '127.0.0.1');
    let aText = '';
    a.setEncoding('latin1');
    a.on('data', (c: string) => (aText += c));
    await new Promise((r) => a.once('connect', r));
    a.write(head + big.slice(0, 3000));
    await expect.poll(() => stack!.sidecar.proxy.bodies.held).toBe(3000);
    const refused = await exchange(stack.proxyPort, post('/v1/chat/completions', big), { responses: 1 });
    expect(refused.responses[0]!.status).toBe(503);
    expect(refused.responses[0]!.headers['retry-after']).toBe('1');
    expect(refused.responses[0]!.headers.connection).toBe('close');
    expect(errorOf(refused)).toMatchObject({ status: 503, code: 'BW_ERR_BUFFER_FULL' });
    expect(stack.sidecar.proxy.bodies.held).toBe(3000);
    a.write(big.slice(3000));
    await expect.poll(() => /^HTTP\/1\.1 200/.test(aText)).toBe(true);
    a.destroy();
    await expect.poll(() => stack!.sidecar.proxy.bodies.held).toBe(0);
    const again = await exchange(stack.proxyPort, post('/v1/chat/completions', big), { responses: 1 });
    expect(again.responses[0]!.status).toBe(200);
    expect(stack.max.stats().requests).toBe(2);
    const metrics = await stack.sidecar.metrics.registry.metrics();
    expect(metrics).toContain('breakwater_buffer_full_total 1');
    expect(metrics).toContain('breakwater_buffered_request_bytes 0');
  });

  it('keeps the cache key from throwing when a body is deep within a raised limit', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
limits: { maxJsonDepth: 1000 }
upstreams: { max-gpu: { url: ${max} }, ollama-cpu: { url: ${ollama} } }
cache: { backend: memory }
`,
    });
    const r = await exchange(stack.proxyPort, post('/v1/chat/completions', nested(999)), { responses: 1 });
    expect(r.responses[0]!.status).toBe(200);
    expect(r.responses[0]!.headers['x-breakwater-tier']).toBe('max-gpu');
  });
});

/**
 * GET /healthz/live over one keep-alive connection, again and again: first `warmup` times (the
 * connection and both sides' code paths ready), then from `begin()` until what it returns settles.
 * Resolves with the number of polls after `begin()` and the slowest answer among them, in ms.
 */
async function pollLive(
  healthUrl: string,
  warmup: number,
  begin: () => Promise<unknown>,
): Promise<{ count: number; worstMs: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      request(`${healthUrl}/healthz/live`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : Infinity));
      })
        .on('error', reject)
        .end();
    });
  try {
    for (let i = 0; i < warmup; i++) await once();
    let done = false;
    const until = begin().finally(() => (done = true));
    let count = 0;
    let worstMs = 0;
    while (!done) {
      worstMs = Math.max(worstMs, await once());
      count++;
      await new Promise((r) => setTimeout(r, 5));
    }
    await until;
    return { count, worstMs };
  } finally {
    agent.destroy();
  }
}

describe('event loop under hostile bodies', () => {
  it('answers /healthz/live within 100 ms when four hostile bodies are sent at once', async () => {
    const max = await startMock({ kind: 'max' });
    open.mocks.push(max);
    const dir = await mkdtemp(join(tmpdir(), 'bw-hostile-'));
    open.dirs.push(dir);
    const file = join(dir, 'policy.yaml');
    await writeFile(
      file,
      `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams: { max-gpu: { url: "${max.url}" } }
cache: { backend: memory }
`,
    );
    const child = spawnCli(['run', '--config', file]);
    open.children.push(child);
    const ready = await child.waitForLog((l) => l.msg === 'breakwater listening');
    const proxyPort = Number(
      String((ready.proxy as string[])[0])
        .split(':')
        .pop(),
    );
    const healthUrl = `http://${String(ready.health)}`;
    const keys = post('/v1/chat/completions', manyKeys(8 * MiB - 1024));
    const deep = post('/v1/chat/completions', nested(100_000));
    // Up to three rounds, the best one judged: on a machine shared with other jobs a scheduler
    // pause alone can exceed 100 ms, while a body that blocks the loop (0.75 s per body before
    // the limits) fails every round.
    const worst: number[] = [];
    for (let round = 0; round < 3; round++) {
      let results: WireResult[] = [];
      const live = await pollLive(healthUrl, 20, async () => {
        results = await Promise.all(
          [keys, deep, keys, deep].map((w) => exchange(proxyPort, w, { responses: 1 })),
        );
      });
      expect(results.map((r) => errorOf(r).code)).toEqual(Array(4).fill('BW_ERR_BODY_TOO_COMPLEX'));
      expect(live.count).toBeGreaterThan(0);
      worst.push(live.worstMs);
      if (live.worstMs < 100) break;
    }
    expect(Math.min(...worst)).toBeLessThan(100);
    const normal = await exchange(proxyPort, post('/v1/chat/completions', JSON.stringify(chatBody())), {
      responses: 1,
    });
    expect(normal.responses[0]!.status).toBe(200);
  });
});
