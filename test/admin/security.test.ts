import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/index.ts';
import { basePolicy, startFull, type Full } from '../sidecar/helpers.ts';
import { rawExchange, rawRequest } from '../helpers/raw-exchange.ts';

let full: Full | null = null;
afterEach(async () => {
  await full?.close();
  full = null;
});

const portOf = (f: Full): number => f.sidecar.adminAddress!.port;
const stateOf = (f: Full, i = 0): string => f.sidecar.breakers()[i]!.state;

/** The admin listener on every interface with a token (what docs/policy.md shows for pod-network access). */
const wildcard =
  (extra = '') =>
  (max: string, ollama: string): string =>
    basePolicy(max, ollama).replace('admin: 127.0.0.1:0', 'admin: 0.0.0.0:0') +
    `admin: { token: w1ldc4rd${extra} }\n`;

const READ_PATHS = ['/circuit-breakers', '/circuit-breakers/max-gpu', '/config', '/metrics', '/tier-usage'];

describe('admin Host check (DNS rebinding)', () => {
  it('refuses a control call whose Host is a foreign name and leaves the breaker closed', async () => {
    full = await startFull();
    const res = await rawRequest(portOf(full), 'POST', '/circuit-breakers/max-gpu/open', {
      Host: `rebind.evil.example:${portOf(full)}`,
    });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json().error).toMatchObject({ code: 'BW_ERR_ADMIN_FORBIDDEN' });
    expect(res.json().error!.message).toContain('rebind.evil.example');
    expect(stateOf(full)).toBe('closed');
  });

  it('refuses every read route and the page when the Host is a foreign name', async () => {
    full = await startFull();
    for (const path of [...READ_PATHS, '/']) {
      const res = await rawRequest(portOf(full), 'GET', path, { Host: 'rebind.evil.example' });
      expect(res.status, path).toBe(403);
      expect(res.json().error, path).toMatchObject({ code: 'BW_ERR_ADMIN_FORBIDDEN' });
      expect(res.body, path).not.toContain('circuit_breaker_state');
    }
  });

  it('answers 400 JSON when Host is missing, duplicated or malformed', async () => {
    full = await startFull();
    const port = portOf(full);
    const host = `Host: 127.0.0.1:${port}`;
    const cases = [
      ['GET /circuit-breakers HTTP/1.1'],
      ['GET /circuit-breakers HTTP/1.0'],
      ['POST /circuit-breakers/reset HTTP/1.1'],
      ['GET /circuit-breakers HTTP/1.1', host, host],
      ['GET /circuit-breakers HTTP/1.1', 'Host: 127.0.0.1:99999'],
      ['GET /circuit-breakers HTTP/1.1', 'Host: user@127.0.0.1'],
      ['GET /circuit-breakers HTTP/1.1', 'Host: ::1'],
    ];
    for (const head of cases) {
      const res = await rawExchange(port, head);
      expect(res.status, head.join(' | ')).toBe(400);
      expect(res.json().error, head.join(' | ')).toMatchObject({ code: 'BW_ERR_REQUEST_INVALID' });
    }
    for (const b of full.sidecar.breakers()) b.forceOpen('held');
    await rawExchange(port, ['POST /circuit-breakers/reset HTTP/1.1']);
    expect(stateOf(full)).toBe('forced_open');
  });

  it("accepts the listener's own names on any port (kubectl port-forward 8080:15000)", async () => {
    full = await startFull();
    const port = portOf(full);
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'LOCALHOST:8080',
      '127.0.0.1',
      '[::1]:15000',
    ]) {
      const res = await rawRequest(port, 'GET', '/circuit-breakers', { Host: host });
      expect(res.status, host).toBe(200);
    }
    const res = await rawRequest(port, 'POST', '/circuit-breakers/max-gpu/open', { Host: 'localhost:8080' });
    expect(res.status).toBe(200);
    expect(stateOf(full)).toBe('forced_open');
  });

  it('refuses IP literals other than loopback on a loopback listener', async () => {
    full = await startFull();
    const res = await rawRequest(portOf(full), 'GET', '/config', { Host: `10.1.2.3:${portOf(full)}` });
    expect(res.status).toBe(403);
  });

  it('accepts names listed in admin.allowedHosts, with or without a port', async () => {
    full = await startFull({
      policy: (m, o) =>
        `${basePolicy(m, o)}admin: { allowedHosts: [ admin.breakwater.test, "ops.example:15000" ] }\n`,
    });
    const port = portOf(full);
    const status = async (host: string): Promise<number> =>
      (await rawRequest(port, 'GET', '/circuit-breakers', { Host: host })).status;
    expect(await status('admin.breakwater.test:1234')).toBe(200);
    expect(await status('Admin.Breakwater.Test')).toBe(200);
    expect(await status('ops.example:15000')).toBe(200);
    expect(await status('ops.example:15001')).toBe(403);
    expect(await status('evil.breakwater.test')).toBe(403);
  });
});

describe('admin token on a non-loopback listener', () => {
  it('demands the bearer token on every read and control route', async () => {
    full = await startFull({ policy: wildcard() });
    const port = portOf(full);
    const host = { Host: `127.0.0.1:${port}` };
    for (const path of READ_PATHS) {
      const res = await rawRequest(port, 'GET', path, host);
      expect(res.status, path).toBe(401);
      expect(res.headers['www-authenticate'], path).toContain('Bearer');
      expect(res.json().error, path).toMatchObject({ code: 'BW_ERR_ADMIN_UNAUTHORIZED' });
      const wrong = await rawRequest(port, 'GET', path, { ...host, Authorization: 'Bearer w1ldc4rdX' });
      expect(wrong.status, path).toBe(401);
      const ok = await rawRequest(port, 'GET', path, { ...host, Authorization: 'Bearer w1ldc4rd' });
      expect(ok.status, path).toBe(200);
    }
    for (const path of ['/circuit-breakers/max-gpu/open', '/circuit-breakers/reset']) {
      expect((await rawRequest(port, 'POST', path, host)).status, path).toBe(401);
    }
    expect(stateOf(full)).toBe('closed');
    const ok = await rawRequest(port, 'POST', '/circuit-breakers/max-gpu/open', {
      ...host,
      Authorization: 'bearer w1ldc4rd',
    });
    expect(ok.status).toBe(200);
    expect(stateOf(full)).toBe('forced_open');
  });

  it('does not tell which breakers exist before the token is checked', async () => {
    full = await startFull({ policy: wildcard() });
    const port = portOf(full);
    const res = await rawRequest(port, 'GET', '/circuit-breakers/nope', { Host: `127.0.0.1:${port}` });
    expect(res.status).toBe(401);
  });

  it('serves the page shell without the token; the page holds no data', async () => {
    full = await startFull({ policy: wildcard() });
    const port = portOf(full);
    const res = await rawRequest(port, 'GET', '/', { Host: `127.0.0.1:${port}` });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).not.toContain('max-gpu');
    expect(res.body).not.toContain(full.sidecar.policy.source.sha256);
  });

  it('accepts any IP literal as Host on a wildcard bind, and no other name', async () => {
    full = await startFull({ policy: wildcard() });
    const port = portOf(full);
    const auth = { Authorization: 'Bearer w1ldc4rd' };
    for (const host of ['10.1.2.3:15000', '[fd00::5]:15000', `127.0.0.1:${port}`]) {
      const res = await rawRequest(port, 'GET', '/circuit-breakers', { Host: host, ...auth });
      expect(res.status, host).toBe(200);
    }
    const named = await rawRequest(port, 'GET', '/circuit-breakers', { Host: 'pod.ns.svc:15000', ...auth });
    expect(named.status).toBe(403);
  });

  it('keeps /metrics on the health listener open for Prometheus', async () => {
    full = await startFull({ policy: wildcard() });
    const res = await fetch(`${full.healthUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('# TYPE circuit_breaker_state gauge');
  });
});

describe('admin control calls a browser could send cross-site', () => {
  const own = (f: Full): Record<string, string> => ({ Host: `127.0.0.1:${portOf(f)}` });

  it.each(['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain'])(
    'refuses a simple form POST with content-type %s even on loopback',
    async (type) => {
      full = await startFull();
      const res = await rawRequest(
        portOf(full),
        'POST',
        '/circuit-breakers/max-gpu/open',
        { ...own(full), 'Content-Type': type },
        'reason=x',
      );
      expect(res.status).toBe(415);
      expect(res.json().error).toMatchObject({ code: 'BW_ERR_MEDIA_TYPE_UNSUPPORTED' });
      expect(stateOf(full)).toBe('closed');
    },
  );

  it('refuses an Origin that is not the listener own origin, null included', async () => {
    full = await startFull();
    const port = portOf(full);
    for (const origin of [
      'http://evil.example',
      'null',
      `http://localhost:${port}`,
      `https://127.0.0.1:${port}`,
    ]) {
      const res = await rawRequest(port, 'POST', '/circuit-breakers/reset', { ...own(full), Origin: origin });
      expect(res.status, origin).toBe(403);
      expect(res.json().error, origin).toMatchObject({ code: 'BW_ERR_ADMIN_FORBIDDEN' });
    }
  });

  it.each(['cross-site', 'same-site'])('refuses Sec-Fetch-Site: %s', async (site) => {
    full = await startFull();
    const res = await rawRequest(portOf(full), 'POST', '/circuit-breakers/max-gpu/open', {
      ...own(full),
      'Sec-Fetch-Site': site,
    });
    expect(res.status).toBe(403);
    expect(stateOf(full)).toBe('closed');
  });

  it('accepts a same-origin JSON call as the page makes it', async () => {
    full = await startFull();
    const port = portOf(full);
    const res = await rawRequest(
      port,
      'POST',
      '/circuit-breakers/max-gpu/open',
      {
        ...own(full),
        Origin: `http://127.0.0.1:${port}`,
        'Sec-Fetch-Site': 'same-origin',
        'Content-Type': 'application/json; charset=utf-8',
      },
      '{"reason":"from the page"}',
    );
    expect(res.status).toBe(200);
    expect(full.sidecar.breakers()[0]!.snapshot().trip_reason).toBe('from the page');
  });

  it('never changes state on GET or HEAD, and answers 405 with Allow for other methods', async () => {
    full = await startFull();
    const port = portOf(full);
    for (const method of ['GET', 'HEAD']) {
      const res = await rawRequest(port, method, '/circuit-breakers/max-gpu/open', own(full));
      expect(res.status, method).toBe(405);
      expect(res.headers.allow, method).toBe('POST');
    }
    expect(stateOf(full)).toBe('closed');
    const cases: [string, string, string][] = [
      ['PUT', '/circuit-breakers/max-gpu/open', 'POST'],
      ['DELETE', '/circuit-breakers/max-gpu', 'GET, HEAD'],
      ['PATCH', '/circuit-breakers/reset', 'GET, HEAD, POST'],
      ['OPTIONS', '/circuit-breakers', 'GET, HEAD'],
      ['POST', '/config', 'GET, HEAD'],
      ['POST', '/', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await rawRequest(port, method, path, own(full));
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.allow, `${method} ${path}`).toBe(allow);
      expect(res.json().error).toMatchObject({ code: 'BW_ERR_METHOD_NOT_ALLOWED' });
    }
    expect(full.sidecar.breakers().map((b) => b.state)).toEqual(['closed', 'closed']);
  });
});

describe('admin breaker names in paths', () => {
  it.each([
    ['a slash', '%2F'],
    ['a dot segment', '..'],
    ['an encoded dot segment', '%2E%2E'],
    ['a double encoding', 'max%252Dgpu'],
    ['a broken escape', '%E0%A4%A'],
    ['unicode', '%C3%A9t%C3%A9'],
    ['a NUL', 'max%00gpu'],
    ['a leading digit', '1max'],
    ['64 characters', 'a'.repeat(64)],
    ['600 encoded characters', '%61'.repeat(200)],
  ])('answers 400 JSON for a breaker name with %s', async (_what, segment) => {
    full = await startFull();
    const port = portOf(full);
    const host = { Host: `127.0.0.1:${port}` };
    for (const [method, path] of [
      ['GET', `/circuit-breakers/${segment}`],
      ['POST', `/circuit-breakers/${segment}/open`],
      ['POST', `/circuit-breakers/${segment}/reset`],
    ] as const) {
      const res = await rawRequest(port, method, path, host);
      expect(res.status, path).toBe(400);
      expect(res.json().error, path).toMatchObject({ code: 'BW_ERR_REQUEST_INVALID' });
    }
  });

  it('decodes a percent-encoded valid name once', async () => {
    full = await startFull();
    const port = portOf(full);
    const res = await rawRequest(port, 'POST', '/circuit-breakers/max%2Dgpu/open', {
      Host: `127.0.0.1:${port}`,
    });
    expect(res.status).toBe(200);
    expect(stateOf(full)).toBe('forced_open');
  });

  it('answers 404 BW_ERR_BREAKER_NOT_FOUND for a valid name no breaker has', async () => {
    full = await startFull();
    const port = portOf(full);
    const res = await rawRequest(port, 'POST', `/circuit-breakers/${'a'.repeat(63)}/reset`, {
      Host: `127.0.0.1:${port}`,
    });
    expect(res.status).toBe(404);
    expect(res.json().error).toMatchObject({ code: 'BW_ERR_BREAKER_NOT_FOUND' });
  });

  it('matches paths exactly: // and .. segments reach nothing', async () => {
    full = await startFull();
    const port = portOf(full);
    const host = { Host: `127.0.0.1:${port}` };
    for (const path of [
      '//circuit-breakers/reset',
      '/circuit-breakers//reset',
      '/x/../circuit-breakers/reset',
    ]) {
      const res = await rawRequest(port, 'POST', path, host);
      expect(res.status, path).toBe(404);
    }
    const absolute = await rawRequest(port, 'POST', `http://127.0.0.1:${port}/circuit-breakers/reset`, host);
    expect(absolute.status).toBe(400);
    for (const b of full.sidecar.breakers()) expect(b.state).toBe('closed');
  });
});

describe('admin secrets', () => {
  it('never shows the configured or a presented token in answers or logs', async () => {
    const configured = 'C0nfigured-Adm1n-T0ken';
    const presented = 'Pr3sented-Wr0ng-T0ken';
    let log = '';
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => (log += c.toString()));
    full = await startFull({
      policy: (m, o) =>
        basePolicy(m, o).replace('admin: 127.0.0.1:0', 'admin: 0.0.0.0:0') +
        `admin: { token: ${configured} }\n`,
      logger: createLogger({ level: 'debug', destination: sink }),
    });
    const port = portOf(full);
    const host = `127.0.0.1:${port}`;
    const answers = [
      await rawRequest(port, 'GET', '/config', { Host: host, Authorization: `Bearer ${presented}` }),
      await rawRequest(port, 'POST', '/circuit-breakers/max-gpu/open', {
        Host: host,
        Authorization: presented,
      }),
      await rawRequest(port, 'POST', '/circuit-breakers/max-gpu/open', {
        Host: 'evil.example',
        Authorization: `Bearer ${configured}`,
      }),
      await rawRequest(port, 'POST', '/circuit-breakers/max-gpu/open', {
        Host: host,
        Origin: 'http://evil.example',
        Authorization: `Bearer ${configured}`,
      }),
      await rawRequest(port, 'GET', '/config', { Host: host, Authorization: `Bearer ${configured}` }),
      await rawRequest(port, 'POST', '/circuit-breakers/max-gpu/open', {
        Host: host,
        Authorization: `Bearer ${configured}`,
      }),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 403, 403, 200, 200]);
    await full.close();
    full = null;
    expect(log).toContain('forced open via admin API');
    for (const text of [...answers.map((a) => a.raw), log]) {
      expect(text).not.toContain(configured);
      expect(text).not.toContain(presented);
    }
  });
});
