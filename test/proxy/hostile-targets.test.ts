import { afterEach, describe, expect, it } from 'vitest';
import { startFull, type Full } from '../sidecar/helpers.ts';
import { exchange, type WireResult } from './helpers.ts';

// breakwater is never an open proxy: absolute-form and CONNECT requests to anything that is not an
// upstream or a route host are refused — its own admin and health ports, the cloud metadata
// address, other spellings of loopback, userinfo tricks — and nothing reaches any upstream.

let full: Full | null = null;
afterEach(async () => {
  await full?.close();
  full = null;
});

interface Ports {
  proxy: number;
  admin: number;
  health: number;
  max: number;
}

async function start(): Promise<Ports> {
  full = await startFull();
  const port = (u: string) => Number(new URL(u).port);
  return {
    proxy: port(full.proxyUrl),
    admin: port(full.adminUrl),
    health: port(full.healthUrl),
    max: port(full.max.url),
  };
}

function upstreamRequests(f: Full): number {
  return f.max.stats().requests + f.ollama.stats().requests;
}

function codeOf(r: WireResult): string {
  return (JSON.parse(r.responses[0]!.body) as { error: { code: string } }).error.code;
}

const absolute = (method: string, url: string): string => {
  const body = method === 'POST' ? '{"model":"m","messages":[]}' : '';
  const host = /^http:\/\/([^/]*)/.exec(url)?.[1] ?? 'x';
  return `${method} ${url} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
};

const TARGETS: [string, (p: Ports) => string, number][] = [
  ['the admin port', (p) => `http://127.0.0.1:${p.admin}/circuit-breakers/reset`, 404],
  ['the health port', (p) => `http://127.0.0.1:${p.health}/healthz/live`, 404],
  ['the metadata address', () => 'http://169.254.169.254/latest/meta-data/iam/', 404],
  ['decimal loopback', (p) => `http://2130706433:${p.max}/v1/chat/completions`, 404],
  ['hex loopback', (p) => `http://0x7f000001:${p.max}/v1/chat/completions`, 404],
  ['short loopback', (p) => `http://127.1:${p.max}/v1/chat/completions`, 404],
  ['IPv6 loopback', (p) => `http://[::1]:${p.max}/v1/chat/completions`, 404],
  ['IPv4-mapped IPv6 loopback', (p) => `http://[::ffff:127.0.0.1]:${p.max}/v1/chat/completions`, 404],
  ['localhost for 127.0.0.1', (p) => `http://localhost:${p.max}/v1/chat/completions`, 404],
  ['a trailing dot', (p) => `http://127.0.0.1.:${p.max}/v1/chat/completions`, 404],
  ['an upstream host on another port', (p) => `http://127.0.0.1:${p.admin}/v1/chat/completions`, 404],
  ['userinfo before the upstream', (p) => `http://evil@127.0.0.1:${p.max}/v1/chat/completions`, 400],
  ['the upstream as userinfo', (p) => `http://127.0.0.1:${p.max}@evil/v1/chat/completions`, 400],
  ['two ports', (p) => `http://127.0.0.1:${p.max}:80/v1/chat/completions`, 400],
  ['a port above 65535', () => 'http://127.0.0.1:70000/v1/chat/completions', 400],
  ['https absolute-form', (p) => `https://127.0.0.1:${p.max}/v1/chat/completions`, 400],
  ['another scheme', () => 'ftp://169.254.169.254/', 400],
];

const CONNECTS: [string, (p: Ports) => string, number][] = [
  ['the admin port', (p) => `127.0.0.1:${p.admin}`, 404],
  ['the health port', (p) => `127.0.0.1:${p.health}`, 404],
  ['the metadata address', () => '169.254.169.254:80', 404],
  ['decimal loopback', (p) => `2130706433:${p.max}`, 404],
  ['IPv6 loopback', (p) => `[::1]:${p.max}`, 404],
  ['IPv4-mapped IPv6 loopback', (p) => `[::ffff:127.0.0.1]:${p.max}`, 404],
  ['two ports', (p) => `127.0.0.1:${p.max}:25000`, 400],
  ['userinfo', (p) => `evil@127.0.0.1:${p.max}`, 400],
  ['no port', () => '127.0.0.1', 400],
  ['a path', (p) => `127.0.0.1:${p.max}/v1`, 400],
];

describe('absolute-form requests to hosts that are not upstreams', () => {
  it.each(TARGETS)('refuses %s and forwards nothing', async (_name, target, status) => {
    const p = await start();
    for (const method of ['GET', 'POST']) {
      const r = await exchange(p.proxy, absolute(method, target(p)));
      expect(r.responses).toHaveLength(1);
      expect(r.responses[0]!.status).toBe(status);
      expect(codeOf(r)).toBe(status === 404 ? 'BW_ERR_ROUTE_NOT_FOUND' : 'BW_ERR_REQUEST_INVALID');
    }
    expect(upstreamRequests(full!)).toBe(0);
    expect(full!.sidecar.breakers().every((b) => b.state === 'closed')).toBe(true);
  });
});

describe('CONNECT tunnels to hosts that are not upstreams', () => {
  it.each(CONNECTS)('refuses %s and forwards nothing', async (_name, target, status) => {
    const p = await start();
    const t = target(p);
    const r = await exchange(
      p.proxy,
      `CONNECT ${t} HTTP/1.1\r\nHost: ${t}\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: ${t}\r\n\r\n`,
    );
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0]!.status).toBe(status);
    expect(codeOf(r)).toBe(status === 404 ? 'BW_ERR_ROUTE_NOT_FOUND' : 'BW_ERR_REQUEST_INVALID');
    expect(r.closed).toBe(true);
    expect(upstreamRequests(full!)).toBe(0);
  });

  it('refuses an absolute-form request to another host inside a tunnel to an upstream', async () => {
    const p = await start();
    const r = await exchange(
      p.proxy,
      `CONNECT 127.0.0.1:${p.max} HTTP/1.1\r\nHost: 127.0.0.1:${p.max}\r\n\r\n` +
        absolute('GET', 'http://169.254.169.254/latest/meta-data/'),
      { responses: 2 },
    );
    expect(r.responses.map((x) => x.status)).toEqual([200, 404]);
    expect(upstreamRequests(full!)).toBe(0);
  });

  it('carries an origin-form request inside a tunnel to an upstream', async () => {
    const p = await start();
    const r = await exchange(
      p.proxy,
      `CONNECT 127.0.0.1:${p.max} HTTP/1.1\r\nHost: 127.0.0.1:${p.max}\r\n\r\n` +
        `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${p.max}\r\n\r\n`,
      { responses: 2 },
    );
    expect(r.responses.map((x) => x.status)).toEqual([200, 200]);
    expect(r.responses[1]!.headers['x-breakwater-tier']).toBe('max-gpu');
    expect(full!.max.stats().requests).toBe(1);
  });
});
