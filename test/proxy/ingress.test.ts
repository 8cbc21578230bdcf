import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request straight on the socket, with a request target of our choosing. */
function raw(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };

describe('ingress forms', () => {
  it('routes an absolute-form request to the chain starting at the named upstream', async () => {
    stack = await startStack();
    const maxHost = new URL(stack.max.url).host;
    const r = await raw(
      stack.proxyPort,
      'POST',
      `${stack.max.url}/v1/chat/completions`,
      { ...json, host: maxHost },
      JSON.stringify(chatBody()),
    );
    expect(r.status).toBe(200);
    expect(r.headers['x-breakwater-tier']).toBe('max-gpu');
    const ollamaHost = new URL(stack.ollama.url).host;
    const o = await raw(
      stack.proxyPort,
      'POST',
      `${stack.ollama.url}/api/chat`,
      { ...json, host: ollamaHost },
      JSON.stringify({ model: 'llama3.1:8b', messages: [], stream: false }),
    );
    expect(o.status).toBe(200);
    expect(o.headers['x-breakwater-tier']).toBe('ollama-cpu');
    expect(stack.max.stats().requests).toBe(1);
  });

  it('refuses an absolute-form request to an unknown host with a JSON 404', async () => {
    stack = await startStack();
    const r = await raw(
      stack.proxyPort,
      'POST',
      'http://example.com/v1/chat/completions',
      { ...json, host: 'example.com' },
      JSON.stringify(chatBody()),
    );
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).error.code).toBe('BW_ERR_ROUTE_NOT_FOUND');
    expect(stack.max.stats().requests + stack.ollama.stats().requests).toBe(0);
  });

  it('refuses a CONNECT tunnel to an unknown host', async () => {
    stack = await startStack();
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(stack!.proxyPort, '127.0.0.1', () =>
        sock.write('CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n'),
      );
      let text = '';
      sock.setEncoding('utf8');
      sock.on('data', (c: string) => (text += c));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(reply.startsWith('HTTP/1.1 404')).toBe(true);
    expect(reply).toContain('BW_ERR_ROUTE_NOT_FOUND');
  });

  it('carries plain HTTP inside a CONNECT tunnel to a known upstream (undici ProxyAgent)', async () => {
    stack = await startStack();
    const dispatcher = new ProxyAgent({ uri: stack.proxyUrl });
    try {
      const res = await undiciFetch(`${stack.max.url}/v1/chat/completions`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify(chatBody()),
        dispatcher,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-breakwater-tier')).toBe('max-gpu');
      const body = (await res.json()) as { choices: { message: { content: string } }[] };
      expect(body.choices[0]!.message.content).toContain('mock-max');
    } finally {
      await dispatcher.close();
    }
  });

  it('serves Node fetch under NODE_USE_ENV_PROXY=1 through the sidecar and falls back', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'status', status: 503 });
    const script = `
      const r = await fetch(${JSON.stringify(stack.max.url + '/v1/chat/completions')}, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [] }) });
      console.log(JSON.stringify({ status: r.status, tier: r.headers.get('x-breakwater-tier') }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_USE_ENV_PROXY: '1', HTTP_PROXY: stack.proxyUrl, NO_PROXY: '' },
      timeout: 15_000,
    });
    expect(JSON.parse(stdout.trim())).toEqual({ status: 200, tier: 'ollama-cpu' });
    expect(stack.max.stats().requests).toBe(1);
  });

  it('answers 413 in JSON when the body is larger than limits.maxRequestBody', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
limits: { maxRequestBody: 1KiB }
upstreams: { max-gpu: { url: ${max} }, ollama-cpu: { url: ${ollama} } }
`,
    });
    const big = JSON.stringify(chatBody({ pad: 'x'.repeat(2048) }));
    const r = await raw(stack.proxyPort, 'POST', '/v1/chat/completions', json, big);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error.code).toBe('BW_ERR_BODY_TOO_LARGE');
    const chunked = await new Promise<RawResponse>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: stack!.proxyPort,
          method: 'POST',
          path: '/v1/chat/completions',
          headers: json,
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.write(big.slice(0, 1000));
      req.end(big.slice(1000));
    });
    expect(chunked.status).toBe(413);
    expect(stack.max.stats().requests).toBe(0);
  });

  it('answers 400 in JSON when an LLM call has a body that is not JSON', async () => {
    stack = await startStack();
    const r = await raw(stack.proxyPort, 'POST', '/v1/chat/completions', json, '{not json');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.code).toBe('BW_ERR_REQUEST_INVALID');
    const o = await raw(stack.proxyPort, 'POST', '/api/chat', json, '[1]');
    expect(o.status).toBe(400);
    expect(typeof JSON.parse(o.body).error).toBe('string');
  });

  it('passes non-LLM paths through to the first tier whose breaker is not open', async () => {
    stack = await startStack();
    const r = await raw(stack.proxyPort, 'GET', '/v1/models', {});
    expect(r.status).toBe(200);
    expect(r.headers['x-breakwater-tier']).toBe('max-gpu');
    expect(JSON.parse(r.body).object).toBe('list');
    stack.sidecar
      .breakers()
      .find((b) => b.name === 'max-gpu')!
      .forceOpen('maintenance');
    const o = await raw(stack.proxyPort, 'GET', '/api/tags', {});
    expect(o.status).toBe(200);
    expect(o.headers['x-breakwater-tier']).toBe('ollama-cpu');
    expect(stack.ollama.stats().last!.headers.host).toBe(new URL(stack.ollama.url).host);
  });

  it('drops hop-by-hop headers and the ones Connection names, and keeps Authorization', async () => {
    stack = await startStack();
    const r = await raw(
      stack.proxyPort,
      'POST',
      '/v1/chat/completions',
      {
        ...json,
        authorization: 'Bearer sk-user',
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': '1',
        'proxy-authorization': 'Basic abc',
        te: 'trailers',
        'x-app': 'kept',
      },
      JSON.stringify(chatBody()),
    );
    expect(r.status).toBe(200);
    const h = stack.max.stats().last!.headers;
    expect(h.authorization).toBe('Bearer sk-user');
    expect(h['x-app']).toBe('kept');
    expect(h['x-secret-hop']).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h.te).toBeUndefined();
  });

  it('replaces Authorization with the tier header when the upstream sets its own', async () => {
    stack = await startStack({
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
upstreams:
  max-gpu: { url: ${max}, headers: { Authorization: "Bearer tier-key" } }
  ollama-cpu: { url: ${ollama} }
`,
    });
    await raw(
      stack.proxyPort,
      'POST',
      '/v1/chat/completions',
      { ...json, authorization: 'Bearer sk-user' },
      JSON.stringify(chatBody()),
    );
    expect(stack.max.stats().last!.headers.authorization).toBe('Bearer tier-key');
  });
});

describe('client going away', () => {
  it('calls no upstream and keeps serving when a client leaves halfway through its body', async () => {
    stack = await startStack();
    await new Promise<void>((resolve, reject) => {
      const sock = connect(stack!.proxyPort, '127.0.0.1', () => {
        sock.write(
          'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"model":',
        );
        setImmediate(() => sock.destroy());
      });
      sock.on('close', () => resolve());
      sock.on('error', reject);
    });
    const r = await raw(stack.proxyPort, 'POST', '/v1/chat/completions', json, JSON.stringify(chatBody()));
    expect(r.status).toBe(200);
    expect(stack.max.stats().requests).toBe(1);
  });
});
