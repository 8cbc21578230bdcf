import { afterEach, describe, expect, it } from 'vitest';
import { basePolicy, chat, startFull, type Full } from '../sidecar/helpers.ts';

let full: Full | null = null;
afterEach(async () => {
  await full?.close();
  full = null;
});

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  expect(res.headers.get('content-type')).toBe('application/json');
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('health listener', () => {
  it('answers live, startup and ready with 200 when started', async () => {
    full = await startFull();
    expect(await get(`${full.healthUrl}/healthz/live`)).toEqual({ status: 200, body: { status: 'alive' } });
    expect(await get(`${full.healthUrl}/healthz/startup`)).toEqual({
      status: 200,
      body: { status: 'started' },
    });
    const ready = await get(`${full.healthUrl}/healthz/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      ready: true,
      mode: 'any-upstream',
      level: 'primary',
      upstreams: {
        'max-gpu': { state: 'closed', available: true },
        'ollama-cpu': { state: 'closed', available: true },
      },
    });
  });

  it('reports the degraded level while staying ready when the primary breaker opens', async () => {
    full = await startFull();
    await full.max.setFault({ mode: 'status', status: 503 });
    await chat(full.proxyUrl);
    await chat(full.proxyUrl);
    const ready = await get(`${full.healthUrl}/healthz/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      level: 'degraded',
      upstreams: { 'max-gpu': { state: 'open', available: false } },
    });
  });

  it('fails readiness in primary mode when the primary breaker is forced open', async () => {
    full = await startFull({ policy: (m, o) => `readiness: primary\n${basePolicy(m, o)}` });
    full.sidecar.breakers()[0]!.forceOpen('maintenance');
    const ready = await get(`${full.healthUrl}/healthz/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      ready: false,
      reason: 'route chat: first upstream tier not available',
    });
  });

  it('keeps liveness at 200 when every upstream is down', async () => {
    full = await startFull();
    for (const b of full.sidecar.breakers()) b.forceOpen();
    await full.max.setFault({ mode: 'refuse' });
    await full.ollama.setFault({ mode: 'refuse' });
    expect((await get(`${full.healthUrl}/healthz/live`)).status).toBe(200);
    expect((await get(`${full.healthUrl}/healthz/ready`)).status).toBe(503);
  });

  it('fails readiness from the first moment of shutdown while liveness stays 200', async () => {
    full = await startFull({
      policy: (m, o) => `readiness: always\nshutdown: { drainDelay: 30s }\n${basePolicy(m, o)}`,
    });
    void full.sidecar.shutdown();
    const ready = await get(`${full.healthUrl}/healthz/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ shutting_down: true, reason: 'shutting down' });
    expect((await get(`${full.healthUrl}/healthz/live`)).status).toBe(200);
    // Still serving while draining.
    expect((await chat(full.proxyUrl)).status).toBe(200);
  });

  it('answers HEAD probes and refuses other methods', async () => {
    full = await startFull();
    expect((await fetch(`${full.healthUrl}/healthz/ready`, { method: 'HEAD' })).status).toBe(200);
    const post = await fetch(`${full.healthUrl}/healthz/ready`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await post.json()).toMatchObject({ error: { code: 'BW_ERR_METHOD_NOT_ALLOWED' } });
    const unknown = await fetch(`${full.healthUrl}/healthz/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'BW_ERR_ROUTE_NOT_FOUND' } });
  });
});
