import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/index.ts';
import { ABORTED, RouteTable, parseJson, readLlmBody, routeOf, targetOf } from '../../src/proxy/index.ts';

describe('targetOf', () => {
  it('reads origin-form with its Host, tunnelled origin-form with the tunnel, and absolute-form', () => {
    expect(targetOf('/v1/x?a=1', 'Max-Serve', null)).toEqual({
      authority: 'max-serve:80',
      captured: false,
      pathWithQuery: '/v1/x?a=1',
      path: '/v1/x',
    });
    expect(targetOf('/v1/x', 'ignored', 'max-serve:8000')).toMatchObject({
      authority: 'max-serve:8000',
      captured: true,
    });
    expect(targetOf('http://max-serve:8000', undefined, null)).toEqual({
      authority: 'max-serve:8000',
      captured: true,
      pathWithQuery: '/',
      path: '/',
    });
    expect(targetOf('/x', undefined, null)?.authority).toBeNull();
  });

  it('refuses targets it cannot route', () => {
    expect(targetOf('https://x/', undefined, null)).toBeNull();
    expect(targetOf('http://user@x/', undefined, null)).toBeNull();
    expect(targetOf('http:///', undefined, null)).toBeNull();
    expect(targetOf('*', undefined, null)).toBeNull();
  });
});

describe('routeOf', () => {
  const policy = parsePolicy(
    `
upstreams:
  max-gpu: { url: "http://max-serve:8000" }
  ollama-cpu: { url: "http://ollama:11434" }
routes:
  - name: ollama
    match: { pathPrefix: /api/ }
    chain: [ { upstream: ollama-cpu }, { degraded: {} } ]
  - name: chat
    match: { pathPrefix: /v1/ }
    chain: [ { upstream: max-gpu }, { upstream: ollama-cpu }, { cache: {} } ]
`,
    { file: null, env: {} },
  );
  const routes = new RouteTable(policy);

  it('routes an LLM call with its endpoint, protocol, start tier and cache tier', () => {
    const r = routeOf(routes, targetOf('http://ollama:11434/v1/chat/completions', undefined, null)!, 'POST');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.match.route.name).toBe('chat');
    expect(r.match.startIndex).toBe(1);
    expect(r.match.cacheIndex).toBe(2);
    expect(r.endpoint?.endpoint).toBe('chat');
    expect(r.protocol).toBe('openai');
  });

  it('marks non-LLM calls for pass-through and names the protocol of /api/ paths', () => {
    const r = routeOf(routes, targetOf('/api/tags', 'sidecar', null)!, 'GET');
    expect(r).toMatchObject({ ok: true, endpoint: null, protocol: 'ollama' });
    if (r.ok) expect(r.match.cacheIndex).toBe(-1);
  });

  it('refuses unknown hosts and unmatched paths with ROUTE_NOT_FOUND, as data', () => {
    const open = routeOf(
      routes,
      targetOf('http://evil.example/v1/chat/completions', undefined, null)!,
      'POST',
    );
    expect(open).toMatchObject({ ok: false, protocol: 'openai' });
    if (!open.ok) expect(open.error).toMatchObject({ code: 'BW_ERR_ROUTE_NOT_FOUND', status: 404 });
    const none = routeOf(routes, targetOf('/other', 'sidecar', null)!, 'GET');
    expect(none.ok).toBe(false);
  });

  it('refuses TRACE and TRACK with METHOD_NOT_ALLOWED: an upstream would echo the tier headers', () => {
    for (const method of ['TRACE', 'TRACK']) {
      const r = routeOf(routes, targetOf('/v1/models', 'sidecar', null)!, method);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ code: 'BW_ERR_METHOD_NOT_ALLOWED', status: 405 });
    }
  });
});

function request(headers: Record<string, string> = {}): IncomingMessage & PassThrough {
  const s = new PassThrough() as PassThrough & { headers: Record<string, string>; complete: boolean };
  s.headers = headers;
  s.complete = false;
  s.on('end', () => (s.complete = true));
  return s as unknown as IncomingMessage & PassThrough;
}

describe('readLlmBody', () => {
  it('returns the bytes and the JSON object', async () => {
    const req = request();
    const pending = readLlmBody(req, 100);
    req.end('{"model":"m"}');
    const r = await pending;
    expect(r).toMatchObject({ ok: true, json: { model: 'm' } });
  });

  it('refuses a body over the limit by Content-Length at once, and as it arrives', async () => {
    const declared = await readLlmBody(request({ 'content-length': '101' }), 100);
    expect(declared).toMatchObject({
      ok: false,
      close: true,
      error: { code: 'BW_ERR_BODY_TOO_LARGE', status: 413 },
    });
    const req = request();
    const pending = readLlmBody(req, 4);
    req.write('{"a":');
    expect(await pending).toMatchObject({ ok: false, close: true });
  });

  it('refuses a body that is not a JSON object with REQUEST_INVALID', async () => {
    const req = request();
    const pending = readLlmBody(req, 100);
    req.end('[1]');
    expect(await pending).toMatchObject({
      ok: false,
      close: false,
      error: { code: 'BW_ERR_REQUEST_INVALID' },
    });
    expect(parseJson(Buffer.from(''))).toBeNull();
    expect(parseJson(Buffer.from('{'))).toBeNull();
  });

  it('reports a client that left before its body arrived as ABORTED', async () => {
    const req = request();
    const pending = readLlmBody(req, 100);
    req.write('{');
    req.destroy();
    expect(await pending).toBe(ABORTED);
  });
});
