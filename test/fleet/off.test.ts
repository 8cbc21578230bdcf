import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { basePolicy, chat, startFull, type Full } from '../sidecar/helpers.ts';

let full: Full | null = null;
let fake: Server | null = null;
afterEach(async () => {
  await full?.close();
  await new Promise<void>((resolve) => (fake ? fake.close(() => resolve()) : resolve()));
  full = null;
  fake = null;
});

describe('fleet mode off', () => {
  it('connects nowhere, exposes nothing and ignores fleetMaxConcurrent when the policy has no fleet section', async () => {
    // A TCP listener standing in for Redis: it counts every connection attempt.
    let connections = 0;
    fake = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => fake!.listen(0, '127.0.0.1', resolve));
    const redisUrl = `redis://127.0.0.1:${(fake.address() as { port: number }).port}`;
    full = await startFull({
      policy: (m, o) =>
        basePolicy(m, o).replace(
          /ollama-cpu:\n {4}url: (\S+)/,
          'ollama-cpu:\n    url: $1\n    fleetMaxConcurrent: 1',
        ) + `cache: { backend: memory, url: "${redisUrl}" }\n`,
    });
    expect(full.sidecar.policy.upstreams[1]!.fleetMaxConcurrent).toBe(1);
    expect(full.sidecar.fleet).toBeNull();
    for (const name of ['max-gpu', 'ollama-cpu']) expect(full.sidecar.upstream(name)!.fleetBudget).toBeNull();

    await full.max.setFault({ mode: 'status', status: 503 });
    await full.ollama.setFault({ mode: 'slow', delayMs: 300 });
    const answers = await Promise.all(Array.from({ length: 4 }, () => chat(full!.proxyUrl)));
    for (const r of answers) {
      expect(r.headers.get('x-breakwater-tier')).toBe('ollama-cpu');
      expect(r.headers.get('x-breakwater-skipped') ?? '').not.toContain('fleet-busy');
      await r.arrayBuffer();
    }
    expect(full.ollama.stats().peakInflight).toBe(4);

    const fleet = await fetch(`${full.adminUrl}/fleet`);
    expect(fleet.status).toBe(404);
    expect(((await fleet.json()) as { error: { code: string } }).error.code).toBe('BW_ERR_FLEET_DISABLED');
    const control = await fetch(`${full.adminUrl}/fleet/circuit-breakers/max-gpu/open`, { method: 'POST' });
    expect(control.status).toBe(404);
    await control.arrayBuffer();
    const metrics = await (await fetch(`${full.adminUrl}/metrics`)).text();
    expect(metrics).toContain('circuit_breaker_state');
    expect(metrics).not.toContain('breakwater_fleet_');
    expect(connections).toBe(0);
  });
});
