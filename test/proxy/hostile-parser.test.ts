import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, startStack, type Stack } from '../helpers/stack.ts';
import { exchange, type WireResult } from './helpers.ts';

// Malformed and ambiguous HTTP on the proxy listener, sent on raw sockets: each gets a JSON error
// and a closed connection, nothing reaches an upstream, and normal calls keep working.

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

const BODY = JSON.stringify(chatBody());
const CHAT = 'POST /v1/chat/completions HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\n';
/** A second request hidden in the first one's body, as request smuggling does. */
const SMUGGLED = 'GET /v1/models HTTP/1.1\r\nHost: app\r\n\r\n';

function upstreamRequests(s: Stack): number {
  return s.max.stats().requests + s.ollama.stats().requests;
}

/** One JSON error answer, then the connection closed. */
function expectRefused(r: WireResult, status: number, code: string): void {
  expect(r.responses).toHaveLength(1);
  const res = r.responses[0]!;
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/json');
  expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe(code);
  expect(r.closed).toBe(true);
}

async function expectNormalCallWorks(s: Stack): Promise<void> {
  const r = await exchange(s.proxyPort, `${CHAT}Content-Length: ${BODY.length}\r\n\r\n${BODY}`, {
    responses: 1,
  });
  expect(r.responses[0]!.status).toBe(200);
  expect(r.responses[0]!.headers['x-breakwater-tier']).toBe('max-gpu');
}

const CASES: [string, string, number, string][] = [
  [
    'Content-Length with Transfer-Encoding',
    `${CHAT}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  [
    'two equal Content-Length',
    `${CHAT}Content-Length: ${BODY.length}\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  [
    'two different Content-Length',
    `${CHAT}Content-Length: ${BODY.length}\r\nContent-Length: 5\r\n\r\n${BODY}${SMUGGLED}`,
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  ['a negative Content-Length', `${CHAT}Content-Length: -1\r\n\r\n${BODY}`, 400, 'BW_ERR_REQUEST_INVALID'],
  [
    'a Content-Length with a sign',
    `${CHAT}Content-Length: +${BODY.length}\r\n\r\n${BODY}`,
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  [
    'a bad chunk size',
    `${CHAT}Transfer-Encoding: chunked\r\n\r\nzz\r\n${BODY}\r\n0\r\n\r\n`,
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  [
    'a chunk size that overflows',
    `${CHAT}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n${BODY}\r\n0\r\n\r\n`,
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  [
    'Transfer-Encoding not ending in chunked',
    `${CHAT}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  [
    'Transfer-Encoding with a space before the colon',
    `${CHAT}Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  [
    'a transfer coding other than chunked',
    `${CHAT}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    501,
    'BW_ERR_REQUEST_INVALID',
  ],
  ['an obs-fold header line', `${CHAT}X-A: a\r\n folded\r\n\r\n`, 400, 'BW_ERR_REQUEST_INVALID'],
  ['bare LF line ends', 'GET /v1/models HTTP/1.1\nHost: app\n\n', 400, 'BW_ERR_REQUEST_INVALID'],
  [
    'a bare LF inside the headers',
    'GET /v1/models HTTP/1.1\r\nHost: app\nX-A: b\r\n\r\n',
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  [
    'a NUL in a header value',
    'GET /v1/models HTTP/1.1\r\nHost: app\r\nX-A: a\0b\r\n\r\n',
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  [
    'an Expect other than 100-continue',
    `${CHAT}Expect: 200-ok\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
    417,
    'BW_ERR_REQUEST_INVALID',
  ],
  ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'BW_ERR_REQUEST_INVALID'],
  [
    'two Host headers',
    'GET /v1/models HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    400,
    'BW_ERR_REQUEST_INVALID',
  ],
  ['a Host with two ports', 'GET /v1/models HTTP/1.1\r\nHost: a:1:2\r\n\r\n', 400, 'BW_ERR_REQUEST_INVALID'],
  ['a Host with userinfo', 'GET /v1/models HTTP/1.1\r\nHost: u@a\r\n\r\n', 400, 'BW_ERR_REQUEST_INVALID'],
  ['HTTP/1.1 without Host', 'GET /v1/models HTTP/1.1\r\n\r\n', 400, 'BW_ERR_REQUEST_INVALID'],
  ['an unknown HTTP version', 'GET /v1/models HTTP/3.7\r\nHost: app\r\n\r\n', 400, 'BW_ERR_REQUEST_INVALID'],
  ['a request line with no target', 'GET HTTP/1.1\r\nHost: app\r\n\r\n', 400, 'BW_ERR_REQUEST_INVALID'],
  [
    '10 000 headers',
    `GET /v1/models HTTP/1.1\r\nHost: app\r\n${Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`,
    431,
    'BW_ERR_HEADERS_TOO_LARGE',
  ],
  [
    'a 1 MiB header',
    `GET /v1/models HTTP/1.1\r\nHost: app\r\nX-Big: ${'a'.repeat(1 << 20)}\r\n\r\n`,
    431,
    'BW_ERR_HEADERS_TOO_LARGE',
  ],
];

describe('hostile HTTP on the proxy listener', () => {
  it.each(CASES)(
    'answers %s with its JSON error, closes, and forwards nothing',
    async (_name, wire, status, code) => {
      stack = await startStack();
      const r = await exchange(stack.proxyPort, wire);
      expectRefused(r, status, code);
      expect(upstreamRequests(stack)).toBe(0);
      await expectNormalCallWorks(stack);
    },
  );

  it.each(['websocket', 'h2c'])(
    'serves an Upgrade: %s request as plain HTTP/1.1 and forwards no Upgrade',
    async (protocol) => {
      stack = await startStack();
      const r = await exchange(
        stack.proxyPort,
        `GET /v1/models HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`,
        { responses: 1 },
      );
      expect(r.responses[0]!.status).toBe(200);
      const seen = stack.max.stats().last!.headers;
      expect(seen.upgrade).toBeUndefined();
      expect(seen.connection ?? 'keep-alive').toMatch(/^(keep-alive|close)$/);
    },
  );

  it('serves HTTP/1.0 without Host on host-agnostic routes and closes after it', async () => {
    stack = await startStack();
    const r = await exchange(stack.proxyPort, 'GET /v1/models HTTP/1.0\r\n\r\n');
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0]!.status).toBe(200);
    expect(r.responses[0]!.headers['x-breakwater-tier']).toBe('max-gpu');
    expect(r.closed).toBe(true);
  });

  it('answers pipelined requests in order when several arrive in one write', async () => {
    stack = await startStack();
    const a = JSON.stringify(chatBody({ model: 'first' }));
    const b = JSON.stringify(chatBody({ model: 'third' }));
    const r = await exchange(
      stack.proxyPort,
      `${CHAT}Content-Length: ${a.length}\r\n\r\n${a}` +
        'GET /v1/models HTTP/1.1\r\nHost: app\r\n\r\n' +
        `${CHAT}Content-Length: ${b.length}\r\nConnection: close\r\n\r\n${b}`,
    );
    expect(r.responses.map((x) => x.status)).toEqual([200, 200, 200]);
    const content = (x: { body: string }) =>
      (JSON.parse(x.body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    expect(content(r.responses[0]!)).toContain('first');
    expect((JSON.parse(r.responses[1]!.body) as { object: string }).object).toBe('list');
    expect(content(r.responses[2]!)).toContain('third');
    expect(r.closed).toBe(true);
  });

  it('serves the next pipelined request when a framed body was refused as not JSON', async () => {
    stack = await startStack();
    const r = await exchange(
      stack.proxyPort,
      `${CHAT}Content-Length: 1\r\n\r\n[GET /v1/models HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n`,
    );
    expect(r.responses.map((x) => x.status)).toEqual([400, 200]);
    expect(r.closed).toBe(true);
    expect(stack.max.stats().byPath['/v1/models']).toBe(1);
    expect(stack.max.stats().byPath['/v1/chat/completions']).toBeUndefined();
  });

  it('never reads a request hidden in a body it refused as too large', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
limits: { maxRequestBody: 1KiB }
upstreams: { max-gpu: { url: ${max} }, ollama-cpu: { url: ${ollama} } }
`,
    });
    const padding = `{"model":"m","pad":"${'x'.repeat(1500)}"}`;
    const r = await exchange(
      stack.proxyPort,
      `${CHAT}Content-Length: ${padding.length}\r\n\r\n${padding}${SMUGGLED}`,
    );
    expectRefused(r, 413, 'BW_ERR_BODY_TOO_LARGE');
    expect(upstreamRequests(stack)).toBe(0);
  });
});
