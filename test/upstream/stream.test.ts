import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MiB,
  chat,
  guard,
  loopStallWatch,
  ollamaChat,
  pour,
  rawUpstream,
  sseEvent,
  type Guard,
  type Upstream,
} from './helpers.ts';

let up: Upstream | null = null;
let g: Guard | null = null;
let client: Socket | null = null;
afterEach(async () => {
  client?.destroy();
  await g?.close();
  await up?.close();
  g = up = client = null;
});

const SSE_HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n';
const NDJSON_HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\nconnection: close\r\n\r\n';

/** The data payloads of an SSE body, in order. */
function payloads(body: string): string[] {
  return body
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));
}

/** One GET /healthz/live; resolves with how long the answer took, in ms. */
async function live(healthUrl: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${healthUrl}/healthz/live`);
  await res.text();
  expect(res.status).toBe(200);
  return performance.now() - t0;
}

/** GETs /healthz/live over and over until `until` settles; resolves with the slowest answer in ms. */
async function slowestLive(
  healthUrl: string,
  until: Promise<unknown>,
): Promise<{ max: number; count: number }> {
  let done = false;
  void until.finally(() => (done = true));
  let max = 0;
  let count = 0;
  while (!done) {
    max = Math.max(max, await live(healthUrl));
    count++;
  }
  return { max, count };
}

/** Reads a response body chunk by chunk without decoding it: its length and last bytes. */
async function consume(res: Response): Promise<{ bytes: number; tail: string }> {
  let bytes = 0;
  let tail = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    tail = (tail + Buffer.from(chunk.subarray(-64)).toString('latin1')).slice(-64);
  }
  return { bytes, tail };
}

const LINE_START = 'data: {"choices":[{"delta":{"content":"';
const X_64K = Buffer.alloc(64 * 1024, 'x');

describe('an upstream stream line', () => {
  it('ends the stream with an error event when a 50 MiB line passes maxStreamLine, the loop never held 100 ms', async () => {
    let sent: Promise<number> | null = null;
    up = await rawUpstream((s) => {
      s.write(SSE_HEAD + sseEvent('Hello') + LINE_START);
      sent = pour(s, X_64K, 800); // 50 MiB, no line end
    });
    g = await guard(up.url);
    await live(g.healthUrl); // the connection is made once, outside the measure
    const stall = loopStallWatch();
    const res = await chat(g.proxyUrl, true);
    expect(res.headers.get('x-breakwater-tier')).toBe('hostile');
    const body = res.text();
    const during = await slowestLive(g.healthUrl, body);
    const text = await body;
    const stalledMs = stall.stop();
    const events = payloads(text);
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[0]!).choices[0].delta.content).toBe('Hello');
    const error = JSON.parse(events[1]!).error;
    expect(error.code).toBe('BW_ERR_STREAM_INTERRUPTED');
    expect(error.message).toContain('stream line over limits.maxStreamLine (1048576 bytes)');
    expect(text).not.toContain('[DONE]');
    expect(g.breaker()).toMatchObject({ total_failures: 1, last_failure: { kind: 'too_large' } });
    expect(await sent!).toBeLessThan(40 * MiB);
    // Re-scanning the line on every chunk held the loop for seconds (live stalled 3.7 s). The
    // hold is judged in CPU time: on a machine shared with other work, the wall time of a probe
    // is mostly the wait for a core (20 idle probes took up to 260 ms here), whatever the sidecar
    // does.
    expect(during.count).toBeGreaterThan(0);
    expect(stalledMs).toBeLessThan(100);
  });

  it('relays a 50 MiB line under a raised maxStreamLine in linear time', async () => {
    up = await rawUpstream((s) => {
      s.write(SSE_HEAD + sseEvent('Hello') + LINE_START);
      void pour(s, X_64K, 800).then(() => s.end('"}}]}\n\ndata: [DONE]\n\n'));
    });
    g = await guard(up.url, 'maxStreamLine: 64MiB');
    const cpu = process.cpuUsage();
    const res = await chat(g.proxyUrl, true);
    expect(res.headers.get('x-breakwater-tier')).toBe('hostile');
    const { bytes, tail } = await consume(res);
    const { user, system } = process.cpuUsage(cpu);
    expect(bytes).toBeGreaterThan(50 * MiB);
    expect(tail).toContain('data: [DONE]');
    expect(g.breaker()).toMatchObject({ total_successes: 1, total_failures: 0 });
    // Upstream, sidecar and client together, in CPU time (load on the machine does not count):
    // re-scanning and re-joining the line on every chunk took 15.7 s.
    expect((user + system) / 1000).toBeLessThan(3_000);
  });

  it('ends an NDJSON stream with an Ollama error record when a line passes maxStreamLine', async () => {
    up = await rawUpstream((s) => {
      s.write(NDJSON_HEAD + '{"message":{"role":"assistant","content":"Hi"},"done":false}\n');
      void pour(s, X_64K, 64);
    });
    g = await guard(up.url, 'maxStreamLine: 256KiB');
    const res = await ollamaChat(g.proxyUrl);
    expect(res.headers.get('x-breakwater-tier')).toBe('hostile');
    const lines = (await res.text()).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!).message.content).toBe('Hi');
    expect(JSON.parse(lines[1]!).error).toContain('stream line over limits.maxStreamLine (262144 bytes)');
    expect(lines.some((l) => l.includes('"done":true'))).toBe(false);
  });

  it('moves on to the next tier when the first event is already too long', async () => {
    up = await rawUpstream((s) => {
      s.write(SSE_HEAD);
      void pour(s, X_64K, 64);
    });
    g = await guard(up.url, 'maxStreamLine: 64KiB');
    const res = await chat(g.proxyUrl, true);
    expect(res.headers.get('x-breakwater-tier')).toBe('degraded');
    expect(res.headers.get('x-breakwater-skipped')).toBe('hostile=too_large');
    expect(await res.text()).toContain('[DONE]');
  });

  it('passes an event of exactly maxStreamLine bytes and refuses one byte more', async () => {
    const limit = 4096;
    /** An event of `size` bytes, its blank line included. */
    const event = (size: number): string => {
      const shell = sseEvent('');
      return shell.replace('"content":""', `"content":"${'y'.repeat(size - shell.length)}"`);
    };
    expect(Buffer.byteLength(event(limit))).toBe(limit);
    for (const [size, tier] of [
      [limit, 'hostile'],
      [limit + 1, 'degraded'],
    ] as const) {
      up = await rawUpstream((s) => s.end(SSE_HEAD + event(size) + 'data: [DONE]\n\n'));
      g = await guard(up.url, `maxStreamLine: ${limit}B`);
      const res = await chat(g.proxyUrl, true);
      expect(res.headers.get('x-breakwater-tier')).toBe(tier);
      await res.text();
      await g.close();
      await up.close();
      g = up = null;
    }
  });
});

describe('invalid UTF-8 in a stream', () => {
  const bad = Buffer.concat([
    Buffer.from('data: {"choices":[{"delta":{"content":"'),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('"}}]}\n\n'),
  ]);

  it('ends the stream with an error event when an event after the first is not UTF-8', async () => {
    up = await rawUpstream((s) => {
      s.write(SSE_HEAD + sseEvent('Hello'));
      setImmediate(() => s.end(Buffer.concat([bad, Buffer.from('data: [DONE]\n\n')])));
    });
    g = await guard(up.url);
    const res = await chat(g.proxyUrl, true);
    const events = payloads(await res.text());
    expect(res.headers.get('x-breakwater-tier')).toBe('hostile');
    expect(events.at(-1)).not.toBe('[DONE]');
    expect(JSON.parse(events.at(-1)!).error.message).toContain('not valid UTF-8');
    expect(g.breaker()).toMatchObject({ total_failures: 1, last_failure: { kind: 'malformed' } });
  });

  it('moves on to the next tier when the first event is not UTF-8', async () => {
    up = await rawUpstream((s) => s.end(Buffer.concat([Buffer.from(SSE_HEAD), bad])));
    g = await guard(up.url);
    const res = await chat(g.proxyUrl, true);
    expect(res.headers.get('x-breakwater-tier')).toBe('degraded');
    expect(res.headers.get('x-breakwater-skipped')).toBe('hostile=malformed');
    await res.text();
  });
});

describe('a client that stops reading a stream', () => {
  it('holds the upstream back, then ends both after timeout.idle without blaming the upstream', async () => {
    let blocked: () => void = () => undefined;
    const upstreamBlocked = new Promise<void>((resolve) => (blocked = resolve));
    let upstreamClosed: Promise<number> | null = null;
    const piece = Buffer.from(sseEvent('x'.repeat(1000)));
    up = await rawUpstream((s) => {
      s.write(SSE_HEAD);
      // 512 MiB offered: far more than every socket buffer on the way can hold. Blocked for good
      // once a write waits 500 ms for its drain: the sidecar stopped reading.
      upstreamClosed = pour(s, piece, Math.ceil((512 * MiB) / piece.length), blocked);
    });
    g = await guard(up.url, '', '2s');
    const before = process.memoryUsage().arrayBuffers;
    const body = JSON.stringify({ model: 'm', messages: [], stream: true });
    const sock = connect(g.proxyPort, '127.0.0.1');
    client = sock;
    sock.on('error', () => undefined);
    sock.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    await new Promise<void>((resolve) => sock.once('data', () => resolve()));
    sock.pause();
    await upstreamBlocked;
    const held = process.memoryUsage().arrayBuffers - before;
    g.clock.advance(2_000);
    const written = await upstreamClosed!;
    // The client learns of the close once it reads again: what it has ends without [DONE].
    let tail = '';
    sock.on('data', (c: Buffer) => (tail = (tail + c.toString('latin1')).slice(-64)));
    sock.resume();
    await new Promise<void>((resolve) => sock.on('close', () => resolve()));
    expect(tail).not.toContain('[DONE]');
    expect(written).toBeLessThan(256 * MiB);
    expect(held).toBeLessThan(64 * MiB);
    expect(g.breaker()).toMatchObject({ total_failures: 0, total_successes: 0 });
  });
});
