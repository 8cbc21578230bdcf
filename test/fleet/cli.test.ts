import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { formatFleetTable } from '../../src/cli/fleet-table.ts';
import type { FleetView } from '../../src/fleet/index.ts';
import { findRedis } from '../helpers/redis.ts';
import { basePolicy, spawnCli, startFull, type Full } from '../sidecar/helpers.ts';
import { groupName } from './helpers.ts';

const redis = await findRedis();
afterAll(async () => {
  await redis?.close();
});

let running: Full[] = [];
afterEach(async () => {
  await Promise.all(running.map((f) => f.close()));
  running = [];
});

async function runCli(args: string[]): Promise<{ code: number | string; out: string; err: string }> {
  const child = spawnCli(args);
  const code = await child.exited;
  return { code, out: child.stdout(), err: child.stderr() };
}

/** Two whole sidecars of one group, in-process, each with its own mock MAX and Ollama. */
async function twoPods(): Promise<[Full, Full]> {
  const group = groupName();
  const pods = await Promise.all(
    ['pod-a', 'pod-b'].map((pod) =>
      startFull({
        policy: (m, o) =>
          `${basePolicy(m, o)}fleet: { redis: "${redis!.url}", group: ${group}, podId: ${pod}, heartbeat: 200ms }\n`,
      }),
    ),
  );
  running.push(...pods);
  return pods as [Full, Full];
}

const WAIT = { timeout: 10_000, interval: 25 };

describe.skipIf(redis === null)('fleet on the admin API and the CLI', () => {
  it('serves GET /fleet with every pod, the group state and the store', async () => {
    const [a] = await twoPods();
    await vi.waitFor(async () => {
      const view = (await (await fetch(`${a.adminUrl}/fleet`)).json()) as FleetView;
      expect(view.pods.map((p) => p.pod).sort()).toEqual(['pod-a', 'pod-b']);
      expect(view.pods.every((p) => p.upstreams['max-gpu'] !== undefined)).toBe(true);
    }, WAIT);
    const view = (await (await fetch(`${a.adminUrl}/fleet`)).json()) as FleetView;
    expect(view).toMatchObject({ pod: 'pod-a', store: 'connected', quorum: 2, stale: false });
    expect(view.upstreams['max-gpu']).toEqual({
      state: 'closed',
      since: null,
      reason: null,
      failing: [],
      last_recovery: null,
    });
    expect(view.pods[0]!.upstreams['max-gpu']).toMatchObject({ state: 'closed', group_state: 'closed' });
  });

  it('prints the fleet table and its JSON with status --fleet', async () => {
    const [a] = await twoPods();
    await vi.waitFor(async () => {
      const view = (await (await fetch(`${a.adminUrl}/fleet`)).json()) as FleetView;
      expect(view.pods).toHaveLength(2);
    }, WAIT);
    const table = await runCli(['status', '--fleet', '--admin', a.adminUrl]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^group t-\w+\s+store connected/);
    expect(table.out).toMatch(/^max-gpu\s+closed\s+-\s+-\s+-$/m);
    expect(table.out).toMatch(/^pod-b\s+\d+ s ago\s+ollama-cpu\s+closed/m);
    const json = await runCli(['status', '--fleet', '--json', '--admin', a.adminUrl]);
    expect((JSON.parse(json.out) as FleetView).pods).toHaveLength(2);
  });

  it('forces a breaker open on every pod and resets it, showing who asked', async () => {
    const [a, b] = await twoPods();
    const open = await runCli([
      'breaker',
      'open',
      'max-gpu',
      '--fleet',
      '--by',
      'alice@laptop',
      '--reason',
      'driver upgrade',
      '--admin',
      a.adminUrl,
    ]);
    expect(open.code).toBe(0);
    expect(open.out).toMatch(
      /^max-gpu: forced open on every pod of group t-\w+ \(asked by alice@laptop, via pod-a\)$/m,
    );
    const forced = b.sidecar.upstream('max-gpu')!.breaker;
    await vi.waitFor(() => expect(forced.state).toBe('forced_open'), WAIT);
    expect(forced.snapshot().trip_reason).toBe(
      'forced open for the fleet by alice@laptop via pod-a: driver upgrade',
    );
    const reset = await runCli([
      'breaker',
      'reset',
      'max-gpu',
      '--fleet',
      '--by',
      'bob',
      '--admin',
      b.adminUrl,
    ]);
    expect(reset.code).toBe(0);
    await vi.waitFor(() => expect(a.sidecar.upstream('max-gpu')!.breaker.state).toBe('closed'), WAIT);
  });

  it('exits 1 with BW_ERR_FLEET_DISABLED when the pod has no fleet section', async () => {
    const full = await startFull();
    running.push(full);
    const status = await runCli(['status', '--fleet', '--admin', full.adminUrl]);
    expect(status.code).toBe(1);
    expect(status.err).toContain('BW_ERR_FLEET_DISABLED');
    const open = await runCli(['breaker', 'open', 'max-gpu', '--fleet', '--admin', full.adminUrl]);
    expect(open.code).toBe(1);
    expect(open.err).toContain('BW_ERR_FLEET_DISABLED');
    expect(full.sidecar.upstream('max-gpu')!.breaker.state).toBe('closed');
  });

  it('exits 3 for an unknown breaker and 2 for reset --all --fleet', async () => {
    const [a] = await twoPods();
    const unknown = await runCli(['breaker', 'open', 'nope', '--fleet', '--admin', a.adminUrl]);
    expect(unknown.code).toBe(3);
    expect(unknown.err).toContain('BW_ERR_BREAKER_NOT_FOUND');
    const all = await runCli(['breaker', 'reset', '--all', '--fleet', '--admin', a.adminUrl]);
    expect(all.code).toBe(2);
  });
});

describe('formatFleetTable', () => {
  it('shows the group, each pod per upstream and the leases', () => {
    const now = Date.parse('2026-11-27T13:00:10Z');
    const view: FleetView = {
      group: 'chat-api',
      pod: 'pod-a',
      store: 'connected',
      store_since: '2026-11-27T13:00:00Z',
      quorum: 2,
      window_ms: 30_000,
      stale: false,
      pods: [
        {
          pod: 'pod-a',
          last_heard: '2026-11-27T13:00:09Z',
          upstreams: {
            'max-gpu': {
              state: 'open',
              since: '2026-11-27T13:00:05Z',
              trip_reason: 'fleet: max-gpu failing on 2 pods',
              fleet_opened: true,
              consecutive_failures: 0,
              group_state: 'open',
              probe_lease: true,
              budget_leases: 0,
            },
          },
        },
      ],
      upstreams: {
        'max-gpu': {
          state: 'open',
          since: '2026-11-27T13:00:05Z',
          reason: 'fleet: max-gpu failing on 2 pods',
          failing: [{ pod: 'pod-b', failures: 3, tripped: true, last: null }],
          last_recovery: null,
        },
        'ollama-cpu': {
          state: 'closed',
          since: null,
          reason: null,
          failing: [],
          last_recovery: {
            at: '2026-11-27T13:00:02Z',
            pod: 'pod-c',
            reason: 'pod-c closed ollama-cpu after its half-open trials succeeded',
          },
        },
      },
      leases: [
        { kind: 'probe', upstream: 'max-gpu', pod: 'pod-a', id: null, expires_at: '2026-11-27T13:00:14Z' },
      ],
    };
    const lines = formatFleetTable(view, now).split('\n');
    expect(lines[0]).toBe(
      'group chat-api  store connected (since 10 s ago)  quorum 2  window 30s  answered by pod-a',
    );
    expect(lines[3]).toMatch(/^max-gpu\s+open\s+5 s ago\s+pod-b 3\s+fleet: max-gpu failing on 2 pods$/);
    expect(lines[4]).toMatch(
      /^ollama-cpu\s+closed\s+-\s+-\s+recovered 8 s ago: pod-c closed ollama-cpu after its half-open trials succeeded$/,
    );
    expect(lines[7]).toMatch(/^pod-a\s+1 s ago\s+max-gpu\s+open\s+5 s ago\s+fleet\s+probe\s+fleet: max-gpu/);
    expect(lines[10]).toMatch(/^probe\s+max-gpu\s+pod-a\s+-\s+in 4 s$/);
  });
});

describe.skipIf(redis === null)('breakwater demo --fleet', () => {
  it('runs three pods of one group where two pods tripping open the third', async () => {
    const child = spawnCli(['demo', '--fleet', '--ports-from', '0'], { REDIS_URL: redis!.url });
    try {
      await vi.waitFor(() => expect(child.stdout()).toContain('6. Maintenance'), {
        timeout: 30_000,
        interval: 50,
      });
      const out = child.stdout();
      const proxies = [...out.matchAll(/pod-\d {2}proxy (\S+)/g)].map((m) => m[1]!);
      const admins = [...out.matchAll(/ admin (\S+) /g)].map((m) => m[1]!);
      const control = /mock MAX\s+\S+\s+control (\S+)/.exec(out)![1]!;
      expect(out).toContain(`Redis        ${redis!.url} ($REDIS_URL)`);
      await fetch(`${control}/_mock/fault`, { method: 'PUT', body: '{"mode":"status","status":503}' });
      const ask = async (proxy: string): Promise<void> => {
        const r = await fetch(`${proxy}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"model":"llama-3.1-8b","messages":[{"role":"user","content":"Hi"}]}',
        });
        expect(r.status).toBe(200);
        await r.arrayBuffer();
      };
      for (let i = 0; i < 3; i++) await ask(proxies[0]!);
      for (let i = 0; i < 3; i++) await ask(proxies[1]!);
      await vi.waitFor(async () => {
        const r = (await (await fetch(`${admins[2]}/circuit-breakers/max-gpu`)).json()) as {
          circuit_breakers: Record<string, { state: string; trip_reason: string }>;
        };
        expect(r.circuit_breakers['max-gpu']!.state).toBe('open');
        expect(r.circuit_breakers['max-gpu']!.trip_reason).toContain('pod-1 3 (tripped');
      }, WAIT);
      child.proc.kill('SIGINT');
      expect(await child.exited).toBe(0);
    } finally {
      child.proc.kill('SIGKILL');
    }
  });
});
