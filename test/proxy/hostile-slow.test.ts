import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/index.ts';
import { chatBody, startStack, type Stack } from '../helpers/stack.ts';
import { exchange, parseResponses } from './helpers.ts';

// Slow clients: hundreds of requests whose headers or bodies never finish must not starve normal
// calls, and each is ended by limits.headersTimeout, limits.bodyIdleTimeout or
// limits.requestTimeout with a JSON 408.

let stack: Stack | null = null;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await stack?.close();
  stack = null;
});

interface Slow {
  readonly socket: Socket;
  /** Resolves with what the server sent once it closed the connection. */
  readonly closed: Promise<string>;
}

function openSlow(port: number, data: string): Promise<Slow> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    const closed = new Promise<string>((done) => socket.on('close', () => done(text)));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(data);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

const PARTIAL = {
  headers: 'GET /v1/models HTTP/1.1\r\nHost: app\r\nX-Never: ',
  llmBody:
    'POST /v1/chat/completions HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":"m",',
  passBody: 'PUT /v1/files/x HTTP/1.1\r\nHost: app\r\nContent-Length: 1000\r\n\r\nsome bytes',
  nothing: '',
};

async function openMany(port: number, each: number): Promise<Record<keyof typeof PARTIAL, Slow[]>> {
  const open = (data: string) => Promise.all(Array.from({ length: each }, () => openSlow(port, data)));
  return {
    headers: await open(PARTIAL.headers),
    llmBody: await open(PARTIAL.llmBody),
    passBody: await open(PARTIAL.passBody),
    nothing: await open(PARTIAL.nothing),
  };
}

async function normalCallMs(s: Stack): Promise<number> {
  const body = JSON.stringify(chatBody());
  const started = performance.now();
  const r = await exchange(
    s.proxyPort,
    `POST /v1/chat/completions HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    { responses: 1 },
  );
  const ms = performance.now() - started;
  expect(r.responses[0]!.status).toBe(200);
  expect(r.responses[0]!.headers['x-breakwater-tier']).toBe('max-gpu');
  return ms;
}

describe('slow clients on the proxy listener', () => {
  it('answers a normal call promptly when 300 half-sent requests are open', async () => {
    stack = await startStack();
    const slow = await openMany(stack.proxyPort, 75);
    const ms = await normalCallMs(stack);
    expect(ms).toBeLessThan(2_000);
    // Still open and unanswered while they wait for their headers or body. A pass-through body
    // streams to the upstream as it comes, so those may already have the upstream's (or, once the
    // upstream connection idles past timeout.firstByte, breakwater's 502) answer.
    const waiting = [...slow.headers, ...slow.llmBody, ...slow.nothing];
    expect(waiting).toHaveLength(225);
    expect(waiting.every((s) => !s.socket.destroyed && s.socket.bytesRead === 0)).toBe(true);
    expect(slow.passBody.every((s) => !s.socket.destroyed)).toBe(true);
    expect(stack.max.stats().byPath['/v1/chat/completions']).toBe(1);
  });

  it('ends each half-sent request with a JSON 408 when its time limit passes', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
limits: { headersTimeout: 500ms, bodyIdleTimeout: 500ms, requestTimeout: 20s }
upstreams: { max-gpu: { url: ${max} }, ollama-cpu: { url: ${ollama} } }
`,
    });
    const slow = await openMany(stack.proxyPort, 25);
    const ended = [...slow.headers, ...slow.llmBody, ...slow.passBody, ...slow.nothing];
    const texts = await Promise.all(ended.map((s) => s.closed));
    for (const text of texts) {
      const { responses } = parseResponses(text);
      expect(responses).toHaveLength(1);
      expect(responses[0]!.status).toBe(408);
      expect((JSON.parse(responses[0]!.body) as { error: { code: string } }).error.code).toBe(
        'BW_ERR_REQUEST_TIMEOUT',
      );
    }
    expect(stack.max.stats().byPath['/v1/chat/completions']).toBeUndefined();
    await normalCallMs(stack);
  });

  it('lets a pass-through upload pause longer than timeout.firstByte: the wait for the answer starts once the body is sent', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
upstreams: { max-gpu: { url: ${max}, timeout: { firstByte: 300ms } }, ollama-cpu: { url: ${ollama} } }
`,
    });
    const s = await openSlow(
      stack.proxyPort,
      'PUT /v1/files/x HTTP/1.1\r\nHost: app\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhello',
    );
    await new Promise((r) => setTimeout(r, 800));
    s.socket.write('world');
    const { responses } = parseResponses(await s.closed);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.headers['x-breakwater-tier']).toBe('max-gpu');
    expect(responses[0]!.body).not.toContain('BW_ERR_PASSTHROUGH_FAILED');
    expect(stack.max.stats().requests).toBe(1);
  });

  it('answers a pass-through call 502 when its upstream stays silent for timeout.firstByte after the request', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
upstreams: { max-gpu: { url: ${max}, timeout: { firstByte: 300ms } }, ollama-cpu: { url: ${ollama} } }
`,
    });
    await stack.max.setFault({ mode: 'hang' });
    const r = await exchange(stack.proxyPort, 'GET /v1/models HTTP/1.1\r\nHost: app\r\n\r\n', {
      responses: 1,
    });
    expect(r.responses[0]!.status).toBe(502);
    expect(JSON.parse(r.responses[0]!.body)).toMatchObject({
      error: {
        code: 'BW_ERR_PASSTHROUGH_FAILED',
        message: expect.stringContaining('no answer within 300ms'),
      },
    });
  });

  it('ends a body that trickles in below the idle limit when limits.requestTimeout passes', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
limits: { headersTimeout: 500ms, bodyIdleTimeout: 10s, requestTimeout: 1500ms }
upstreams: { max-gpu: { url: ${max} }, ollama-cpu: { url: ${ollama} } }
`,
    });
    const s = await openSlow(stack.proxyPort, PARTIAL.llmBody);
    const drip = setInterval(() => s.socket.write(' '), 100);
    try {
      const { responses } = parseResponses(await s.closed);
      expect(responses.map((r) => r.status)).toEqual([408]);
    } finally {
      clearInterval(drip);
    }
    expect(stack.max.stats().requests).toBe(0);
  });

  it('applies new limits to the listener when the policy is reloaded', async () => {
    stack = await startStack();
    const yaml = `
listen: { proxy: 127.0.0.1:0 }
limits: { headersTimeout: 300ms, requestTimeout: 5s, maxJsonMembers: 3 }
upstreams: { max-gpu: { url: ${stack.max.url} }, ollama-cpu: { url: ${stack.ollama.url} } }
`;
    stack.sidecar.applyPolicy(parsePolicy(yaml, { file: null, env: {} }));
    const started = performance.now();
    const s = await openSlow(stack.proxyPort, PARTIAL.headers);
    expect(parseResponses(await s.closed).responses.map((r) => r.status)).toEqual([408]);
    // The old limit was 10 s: the new one (300 ms, checked every second) ended it.
    expect(performance.now() - started).toBeLessThan(5_000);
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    const r = await exchange(
      stack.proxyPort,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: app\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(r.responses.map((x) => x.status)).toEqual([413]);
    expect(stack.max.stats().requests).toBe(0);
  });

  it('never cuts an answer that outlasts the request limits when the request itself arrived in time', async () => {
    stack = await startStack({
      max: { chunkDelayMs: 150, streamChunks: 10 },
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
limits: { headersTimeout: 300ms, bodyIdleTimeout: 300ms, requestTimeout: 500ms }
upstreams: { max-gpu: { url: ${max}, timeout: { idle: 5s } }, ollama-cpu: { url: ${ollama} } }
`,
    });
    const started = performance.now();
    const res = await fetch(`${stack.proxyUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ stream: true })),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(performance.now() - started).toBeGreaterThan(1_000);
  });
});
