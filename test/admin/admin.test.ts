import { afterEach, describe, expect, it } from 'vitest';
import { basePolicy, chat, startFull, type Full } from '../sidecar/helpers.ts';

let full: Full | null = null;
afterEach(async () => {
  await full?.close();
  full = null;
});

const SNAPSHOT_KEYS = [
  'state',
  'total_requests',
  'total_successes',
  'total_failures',
  'total_timeouts',
  'total_rejections',
  'consecutive_failures',
  'opened_at',
  'next_attempt_at',
  'trip_reason',
  'uptime_seconds',
];

async function json(res: Response): Promise<Record<string, unknown>> {
  expect(res.headers.get('content-type')).toBe('application/json');
  return (await res.json()) as Record<string, unknown>;
}

/** A control call as the CLI makes it: a JSON body (typed as JSON) or none. */
const post = (url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

describe('admin API', () => {
  it('lists every breaker in the original shape plus extras', async () => {
    full = await startFull();
    const body = await json(await fetch(`${full.adminUrl}/circuit-breakers`));
    const cbs = body.circuit_breakers as Record<string, Record<string, unknown>>;
    expect(Object.keys(cbs)).toEqual(['max-gpu', 'ollama-cpu']);
    expect(Object.keys(cbs['max-gpu']!).slice(0, SNAPSHOT_KEYS.length)).toEqual(SNAPSHOT_KEYS);
    expect(cbs['max-gpu']).toMatchObject({
      state: 'closed',
      total_requests: 0,
      opened_at: null,
      next_attempt_at: null,
      trip_reason: null,
    });
    expect(typeof cbs['max-gpu']!.uptime_seconds).toBe('number');
  });

  it('shows an opened breaker with its trip reason and next attempt', async () => {
    full = await startFull();
    await full.max.setFault({ mode: 'status', status: 503 });
    for (let i = 0; i < 2; i++) expect((await chat(full.proxyUrl)).status).toBe(200);
    const body = await json(await fetch(`${full.adminUrl}/circuit-breakers/max-gpu`));
    const b = (body.circuit_breakers as Record<string, Record<string, unknown>>)['max-gpu']!;
    expect(b).toMatchObject({ state: 'open', total_failures: 2, consecutive_failures: 2 });
    expect(b.trip_reason).toBe('2 consecutive failures (last: status: HTTP 503)');
    expect(Date.parse(String(b.next_attempt_at)) - Date.parse(String(b.opened_at))).toBe(30_000);
  });

  it('forces a breaker open with a reason and holds it until reset', async () => {
    full = await startFull();
    const opened = await json(
      await post(`${full.adminUrl}/circuit-breakers/max-gpu/open`, { reason: 'GPU driver upgrade' }),
    );
    expect(opened).toMatchObject({
      circuit_breakers: { 'max-gpu': { state: 'forced_open', trip_reason: 'GPU driver upgrade' } },
    });
    const res = await chat(full.proxyUrl);
    expect(res.headers.get('x-breakwater-tier')).toBe('ollama-cpu');
    expect(full.max.stats().requests).toBe(0);
    const reset = await json(await post(`${full.adminUrl}/circuit-breakers/max-gpu/reset`));
    expect(reset).toMatchObject({ circuit_breakers: { 'max-gpu': { state: 'closed', trip_reason: null } } });
    expect((await chat(full.proxyUrl)).headers.get('x-breakwater-tier')).toBe('max-gpu');
  });

  it('resets every breaker at once', async () => {
    full = await startFull();
    await post(`${full.adminUrl}/circuit-breakers/max-gpu/open`);
    await post(`${full.adminUrl}/circuit-breakers/ollama-cpu/open`);
    const body = await json(await post(`${full.adminUrl}/circuit-breakers/reset`));
    const states = Object.values(body.circuit_breakers as Record<string, { state: string }>).map(
      (b) => b.state,
    );
    expect(states).toEqual(['closed', 'closed']);
  });

  it('answers 404 BW_ERR_BREAKER_NOT_FOUND when the breaker is unknown', async () => {
    full = await startFull();
    for (const res of [
      await post(`${full.adminUrl}/circuit-breakers/nope/reset`),
      await post(`${full.adminUrl}/circuit-breakers/nope/open`),
      await fetch(`${full.adminUrl}/circuit-breakers/nope`),
    ]) {
      expect(res.status).toBe(404);
      expect(await json(res)).toMatchObject({ error: { code: 'BW_ERR_BREAKER_NOT_FOUND' } });
    }
  });

  it('answers JSON errors for unknown paths, wrong methods and bad bodies', async () => {
    full = await startFull();
    const unknown = await fetch(`${full.adminUrl}/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ error: { code: 'BW_ERR_ROUTE_NOT_FOUND' } });
    const wrong = await fetch(`${full.adminUrl}/config`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
    expect(await json(wrong)).toMatchObject({ error: { code: 'BW_ERR_METHOD_NOT_ALLOWED' } });
    const bad = await fetch(`${full.adminUrl}/circuit-breakers/max-gpu/open`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ error: { code: 'BW_ERR_REQUEST_INVALID' } });
  });

  it('serves the active policy redacted with its hash and no reload error', async () => {
    full = await startFull({
      policy: (max, ollama) =>
        basePolicy(max, ollama).replace(
          '  ollama-cpu:\n',
          '  ollama-cpu:\n    headers: { authorization: "Bearer s3cret" }\n',
        ),
    });
    const res = await fetch(`${full.adminUrl}/config`);
    const text = await res.clone().text();
    const body = await json(res);
    expect(body.sha256).toBe(full.sidecar.policy.source.sha256);
    expect(body.loaded_at).toBe(new Date(full.sidecar.policy.source.loadedAtMs).toISOString());
    expect(body.last_reload_error).toBeNull();
    expect(body.policy).toEqual(full.sidecar.policy.redacted);
    expect(text).not.toContain('s3cret');
  });

  it('serves Prometheus metrics', async () => {
    full = await startFull();
    const res = await fetch(`${full.adminUrl}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('# TYPE circuit_breaker_state gauge');
  });

  it('counts tier usage per route in chain order', async () => {
    full = await startFull();
    await chat(full.proxyUrl);
    await full.max.setFault({ mode: 'status', status: 503 });
    await chat(full.proxyUrl);
    const body = await json(await fetch(`${full.adminUrl}/tier-usage`));
    expect(body).toEqual({
      tier_usage: { chat: { 'max-gpu': 1, 'ollama-cpu': 1, cache: 0, degraded: 0, none: 0 } },
    });
  });

  it('serves the page as HTML', async () => {
    full = await startFull();
    const res = await fetch(`${full.adminUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('<title>breakwater</title>');
  });
});

describe('admin API with admin.token', () => {
  const withToken = (max: string, ollama: string): string =>
    `admin: { token: t0ps3cret }\n${basePolicy(max, ollama)}`;

  it('refuses control calls without the bearer token with 401', async () => {
    full = await startFull({ policy: withToken });
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 't0ps3cret' }]) {
      const res = await post(`${full.adminUrl}/circuit-breakers/max-gpu/open`, undefined, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect(await json(res)).toMatchObject({ error: { code: 'BW_ERR_ADMIN_UNAUTHORIZED' } });
    }
    expect(full.sidecar.breakers()[0]!.state).toBe('closed');
  });

  it('accepts control calls with the bearer token', async () => {
    full = await startFull({ policy: withToken });
    const res = await post(`${full.adminUrl}/circuit-breakers/max-gpu/open`, undefined, {
      authorization: 'Bearer t0ps3cret',
    });
    expect(res.status).toBe(200);
    expect(full.sidecar.breakers()[0]!.state).toBe('forced_open');
  });

  it('keeps reads open without the token', async () => {
    full = await startFull({ policy: withToken });
    expect((await fetch(`${full.adminUrl}/circuit-breakers`)).status).toBe(200);
    const config = await fetch(`${full.adminUrl}/config`);
    expect(config.status).toBe(200);
    expect(await config.text()).not.toContain('t0ps3cret');
  });
});

describe('admin API control from a browser', () => {
  it('refuses a control call from another origin with 403', async () => {
    full = await startFull();
    const res = await post(`${full.adminUrl}/circuit-breakers/max-gpu/open`, undefined, {
      origin: 'http://evil.example',
    });
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ error: { code: 'BW_ERR_ADMIN_FORBIDDEN' } });
    expect(full.sidecar.breakers()[0]!.state).toBe('closed');
  });

  it('accepts a control call from the page origin', async () => {
    full = await startFull();
    const origin = full.adminUrl;
    const res = await post(`${full.adminUrl}/circuit-breakers/max-gpu/open`, undefined, { origin });
    expect(res.status).toBe(200);
  });
});
