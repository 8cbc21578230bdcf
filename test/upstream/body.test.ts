import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ANSWER,
  CHUNK_64K,
  MiB,
  chat,
  guard,
  pour,
  rawUpstream,
  rssWatch,
  type Guard,
  type Upstream,
} from './helpers.ts';

let up: Upstream | null = null;
let g: Guard | null = null;
afterEach(async () => {
  await g?.close();
  await up?.close();
  g = up = null;
});

/** Answers every request with `head` (status line and headers, without the blank line) and `body`. */
function answering(head: string, body: Buffer | string): Promise<Upstream> {
  return rawUpstream((s) => {
    const b = typeof body === 'string' ? Buffer.from(body) : body;
    s.end(Buffer.concat([Buffer.from(`${head}\r\ncontent-length: ${b.length}\r\n\r\n`), b]));
  });
}

/** Expects the degraded answer after `hostile` failed with `kind`, and returns its last failure. */
async function expectDegraded(res: Response, kind: string): Promise<{ kind: string; message: string }> {
  expect(res.status).toBe(200);
  expect(res.headers.get('x-breakwater-tier')).toBe('degraded');
  expect(res.headers.get('x-breakwater-skipped')).toMatch(new RegExp(`^hostile=${kind}`));
  const body = (await res.json()) as { choices: { message: { content: string } }[] };
  expect(body.choices[0]!.message.content).toBe('Service temporarily unavailable');
  const snap = g!.breaker();
  expect(snap).toMatchObject({ total_failures: 1, total_successes: 0 });
  return snap.last_failure!;
}

describe('a plain upstream answer', () => {
  it('fails the tier when an endless chunked body passes maxResponseBody, with memory bounded', async () => {
    let sent: Promise<number> | null = null;
    up = await rawUpstream((s) => {
      s.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
      sent = pour(s, CHUNK_64K, 1600); // 100 MiB
    });
    g = await guard(up.url);
    const rss = rssWatch();
    const failure = await expectDegraded(await chat(g.proxyUrl), 'too_large');
    const growth = rss.stop();
    expect(failure.message).toBe('response body over limits.maxResponseBody (33554432 bytes)');
    // The sidecar cut the upstream off once past 32 MiB: nowhere near the 100 MiB offered.
    expect(await sent!).toBeLessThan(80 * MiB);
    expect(growth).toBeLessThan(96 * MiB);
  });

  it('keeps memory within a lower maxResponseBody while a 100 MiB body is refused', async () => {
    let sent: Promise<number> | null = null;
    up = await rawUpstream((s) => {
      s.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
      sent = pour(s, CHUNK_64K, 1600);
    });
    g = await guard(up.url, 'maxResponseBody: 2MiB');
    const rss = rssWatch();
    const failure = await expectDegraded(await chat(g.proxyUrl), 'too_large');
    const growth = rss.stop();
    expect(failure.message).toContain('(2097152 bytes)');
    expect(await sent!).toBeLessThan(50 * MiB);
    expect(growth).toBeLessThan(48 * MiB);
  });

  it('fails the tier before reading a body whose content-length is over maxResponseBody', async () => {
    let sent: Promise<number> | null = null;
    up = await rawUpstream((s) => {
      s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${100 * MiB}\r\n\r\n`);
      sent = pour(s, Buffer.alloc(64 * 1024, 'a'), 1600);
    });
    g = await guard(up.url);
    const failure = await expectDegraded(await chat(g.proxyUrl), 'too_large');
    expect(failure.message).toBe(
      'response body of 104857600 bytes over limits.maxResponseBody (33554432 bytes)',
    );
    expect(await sent!).toBeLessThan(80 * MiB);
  });

  it('passes an answer of exactly maxResponseBody', async () => {
    const body = Buffer.from(JSON.stringify({ ...JSON.parse(ANSWER), pad: 'x'.repeat(1000) }));
    up = await answering('HTTP/1.1 200 OK\r\ncontent-type: application/json', body);
    g = await guard(up.url, `maxResponseBody: ${body.length}B`);
    const res = await chat(g.proxyUrl);
    expect(res.headers.get('x-breakwater-tier')).toBe('hostile');
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
  });

  it('fails the tier when headers never end (undici header limit)', async () => {
    let sent: Promise<number> | null = null;
    up = await rawUpstream((s) => {
      s.write('HTTP/1.1 200 OK\r\n');
      sent = pour(s, Buffer.from(`x-filler: ${'h'.repeat(1000)}\r\n`), 100_000);
    });
    g = await guard(up.url);
    const failure = await expectDegraded(await chat(g.proxyUrl), 'reset');
    expect(failure.message).toContain('UND_ERR_HEADERS_OVERFLOW');
    expect(await sent!).toBeLessThan(50 * MiB);
  });

  it('fails the tier when one header value never ends', async () => {
    up = await rawUpstream((s) => {
      s.write('HTTP/1.1 200 OK\r\nx-endless: ');
      void pour(s, Buffer.alloc(4096, 'v'), 100_000);
    });
    g = await guard(up.url);
    const failure = await expectDegraded(await chat(g.proxyUrl), 'reset');
    expect(failure.message).toContain('UND_ERR_HEADERS_OVERFLOW');
  });

  it('fails the tier when a JSON answer is not valid UTF-8', async () => {
    const body = Buffer.concat([
      Buffer.from('{"id":"x","choices":[{"message":{"content":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}]}'),
    ]);
    up = await answering('HTTP/1.1 200 OK\r\ncontent-type: application/json', body);
    g = await guard(up.url);
    const failure = await expectDegraded(await chat(g.proxyUrl), 'malformed');
    expect(failure.message).toBe('response body not valid UTF-8');
  });
});

describe('a compressed upstream answer', () => {
  const encoded: [string, Buffer][] = [
    ['gzip', gzipSync(ANSWER)],
    ['deflate', deflateSync(ANSWER)],
    ['br', brotliCompressSync(ANSWER)],
    ['x-unknown', Buffer.from(ANSWER)],
  ];

  it.each(encoded)(
    'fails the tier with the encoding named when the body is %s-encoded',
    async (name, body) => {
      up = await answering(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: ${name}`,
        body,
      );
      g = await guard(up.url);
      const failure = await expectDegraded(await chat(g.proxyUrl), 'malformed');
      expect(failure.message).toBe(`content-encoding ${name} although identity was asked for`);
      expect(up.heads[0]).toMatch(/\r\naccept-encoding: identity(\r\n|$)/i);
    },
  );

  it('fails a compressed stream the same way', async () => {
    up = await answering(
      'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip',
      gzipSync('data: {"choices":[]}\n\ndata: [DONE]\n\n'),
    );
    g = await guard(up.url);
    const res = await chat(g.proxyUrl, true);
    expect(res.headers.get('x-breakwater-tier')).toBe('degraded');
    expect(await res.text()).toContain('Service temporarily unavailable');
    expect(g.breaker().last_failure).toMatchObject({ kind: 'malformed' });
  });

  it('passes an answer labelled content-encoding identity', async () => {
    up = await answering(
      'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: identity',
      ANSWER,
    );
    g = await guard(up.url);
    const res = await chat(g.proxyUrl);
    expect(res.headers.get('x-breakwater-tier')).toBe('hostile');
    expect(await res.text()).toBe(ANSWER);
  });
});

describe('informational and empty upstream answers', () => {
  it.each([
    '100 Continue',
    '103 Early Hints',
    '100 Continue\r\nx-a: 1\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>; rel=preload',
  ])('ignores an unasked %s before the final answer', async (interim) => {
    up = await rawUpstream((s) => {
      s.end(
        `HTTP/1.1 ${interim}\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${ANSWER.length}\r\n\r\n${ANSWER}`,
      );
    });
    g = await guard(up.url);
    const res = await chat(g.proxyUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-breakwater-tier')).toBe('hostile');
    expect(await res.text()).toBe(ANSWER);
    expect(g.breaker()).toMatchObject({ total_successes: 1, total_failures: 0 });
  });

  it('ignores a 100 Continue before a stream', async () => {
    const events = 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n';
    up = await rawUpstream((s) => {
      s.end(
        `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n${events}`,
      );
    });
    g = await guard(up.url);
    const res = await chat(g.proxyUrl, true);
    expect(res.headers.get('x-breakwater-tier')).toBe('hostile');
    expect(await res.text()).toBe(events);
    expect(g.breaker()).toMatchObject({ total_successes: 1, total_failures: 0 });
  });

  it.each([204, 205, 304])('fails the tier on a %i answer to an LLM call', async (status) => {
    up = await rawUpstream((s) => {
      s.end(`HTTP/1.1 ${status} Nothing\r\ncontent-length: 0\r\n\r\n`);
    });
    g = await guard(up.url);
    const failure = await expectDegraded(await chat(g.proxyUrl), String(status));
    expect(failure).toEqual({ kind: 'status', message: `HTTP ${status}` });
  });
});
