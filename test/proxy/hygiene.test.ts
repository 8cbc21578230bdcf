import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { nullCache } from '../../src/cache/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { parsePolicy } from '../../src/policy/index.ts';
import { Sidecar } from '../../src/sidecar/index.ts';
import { exchange, startUpstream, type SeenRequest, type TestUpstream } from './helpers.ts';

let upstream: TestUpstream | null = null;
let sidecar: Sidecar | null = null;
afterEach(async () => {
  await sidecar?.close();
  await upstream?.close();
  sidecar = null;
  upstream = null;
});

/** An upstream that answers with hop-by-hop headers and breakwater's own header names. */
function hostileReply(req: SeenRequest, res: ServerResponse): void {
  const llm = req.url.endsWith('/chat/completions');
  const body = llm
    ? JSON.stringify({
        id: 'c1',
        object: 'chat.completion',
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      })
    : JSON.stringify({ object: 'list', data: [] });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-breakwater-tier': 'cache',
    'x-breakwater-skipped': 'max-gpu=open',
    'x-breakwater-route': 'evil',
    'keep-alive': 'timeout=5, max=7',
    connection: 'keep-alive, x-up-hop',
    'x-up-hop': 'secret',
    'x-up-kept': 'yes',
  });
  res.end(body);
}

async function start(): Promise<number> {
  upstream = await startUpstream(hostileReply);
  const policy = parsePolicy(
    `listen: { proxy: 127.0.0.1:0 }
upstreams: { max-gpu: { url: ${upstream.url} } }
routes:
  - name: chat
    chain: [ { upstream: max-gpu }, { degraded: {} } ]
`,
    { file: null, env: {} },
  );
  sidecar = await Sidecar.start({ policy, logger: silentLogger(), createCache: () => nullCache });
  return sidecar.proxyAddresses[0]!.port;
}

const HOSTILE_REQUEST_HEADERS =
  'Connection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=99\r\nTE: trailers\r\n' +
  'Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nUpgrade: h2c\r\n' +
  'Authorization: Bearer sk-app\r\nX-App: kept\r\n';

const DROPPED = ['keep-alive', 'te', 'proxy-connection', 'proxy-authorization', 'upgrade', 'x-secret-hop'];

function expectClean(seen: SeenRequest): void {
  const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  for (const name of DROPPED) expect(names).not.toContain(name);
  // The upstream hop has its own Connection header (breakwater's client sets it), never the client's.
  expect(seen.headers.connection ?? 'keep-alive').toMatch(/^(keep-alive|close)$/);
  expect(seen.headers.authorization).toBe('Bearer sk-app');
  expect(seen.headers['x-app']).toBe('kept');
}

function expectOwnHeaders(headers: Record<string, string>, route: string): void {
  expect(headers['x-breakwater-tier']).toBe('max-gpu');
  expect(headers['x-breakwater-route']).toBe(route);
  expect(headers['x-breakwater-skipped']).toBeUndefined();
  // breakwater's listener sets its own keep-alive for the client hop, never the upstream's.
  expect(headers['keep-alive'] ?? '').not.toContain('max=7');
  expect(headers.connection ?? 'keep-alive').toMatch(/^(keep-alive|close)$/);
  expect(headers['x-up-hop']).toBeUndefined();
  expect(headers['x-up-kept']).toBe('yes');
}

describe('pass-through header hygiene', () => {
  it('forwards no hop-by-hop, Connection-listed or proxy credential header when the path is not an LLM call', async () => {
    const port = await start();
    const r = await exchange(port, `GET /v1/models HTTP/1.1\r\nHost: app\r\n${HOSTILE_REQUEST_HEADERS}\r\n`, {
      responses: 1,
    });
    expect(r.responses[0]!.status).toBe(200);
    expect(upstream!.seen).toHaveLength(1);
    expectClean(upstream!.seen[0]!);
    expectOwnHeaders(r.responses[0]!.headers, 'chat');
    expect(JSON.parse(r.responses[0]!.body)).toEqual({ object: 'list', data: [] });
  });

  it('keeps the body framing when Connection names content-length or transfer-encoding', async () => {
    const port = await start();
    const r = await exchange(
      port,
      'PUT /api/blobs/x HTTP/1.1\r\nHost: app\r\nConnection: content-length, transfer-encoding, host\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
      { responses: 1 },
    );
    expect(r.responses[0]!.status).toBe(200);
    expect(upstream!.seen[0]!.body).toBe('hello world');
    expect(upstream!.seen[0]!.headers['transfer-encoding']).toBe('chunked');
  });

  it('forwards the same clean headers and answers with its own x-breakwater-* when the path is an LLM call', async () => {
    const port = await start();
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    const r = await exchange(
      port,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: app\r\n${HOSTILE_REQUEST_HEADERS}` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      { responses: 1 },
    );
    expect(r.responses[0]!.status).toBe(200);
    expectClean(upstream!.seen[0]!);
    expectOwnHeaders(r.responses[0]!.headers, 'chat');
  });

  it('refuses TRACE with 405 before it reaches an upstream that would echo the tier credentials', async () => {
    const port = await start();
    const r = await exchange(port, 'TRACE /v1/models HTTP/1.1\r\nHost: app\r\n\r\n', { responses: 1 });
    expect(r.responses[0]!.status).toBe(405);
    expect(JSON.parse(r.responses[0]!.body)).toMatchObject({
      error: { code: 'BW_ERR_METHOD_NOT_ALLOWED', type: 'invalid_request_error' },
    });
    expect(upstream!.seen).toHaveLength(0);
  });
});
