import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BreakerSnapshot } from '../../src/breaker/index.ts';
import { formatBreakerTable } from '../../src/cli/status.ts';
import { basePolicy, chat, spawnCli, startFull, type Full } from '../sidecar/helpers.ts';

let full: Full | null = null;
afterEach(async () => {
  await full?.close();
  full = null;
});

async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | string; out: string; err: string }> {
  const child = spawnCli(args, env);
  const code = await child.exited;
  return { code, out: child.stdout(), err: child.stderr() };
}

/** A loopback port with nothing listening: bound, then released (connections to it are refused). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function snap(overrides: Partial<BreakerSnapshot>): BreakerSnapshot {
  return {
    state: 'closed',
    total_requests: 0,
    total_successes: 0,
    total_failures: 0,
    total_timeouts: 0,
    total_rejections: 0,
    consecutive_failures: 0,
    opened_at: null,
    next_attempt_at: null,
    trip_reason: null,
    uptime_seconds: 1,
    consecutive_successes: 0,
    half_open_in_flight: 0,
    recovery_timeout_ms: 30_000,
    last_failure: null,
    state_since: '2026-11-27T13:00:00.000Z',
    ...overrides,
  };
}

describe('formatBreakerTable', () => {
  it('shows state, failures, timeouts, rejections, next attempt and trip reason per breaker', () => {
    const now = Date.parse('2026-11-27T13:00:00Z');
    const text = formatBreakerTable(
      {
        'max-gpu': snap({
          state: 'open',
          total_requests: 10,
          total_failures: 4,
          consecutive_failures: 3,
          total_timeouts: 1,
          total_rejections: 7,
          next_attempt_at: '2026-11-27T13:00:12.300Z',
          trip_reason: '3 consecutive failures (last: status: HTTP 503)',
        }),
        'ollama-cpu': snap({ total_requests: 5 }),
        cache: snap({ state: 'forced_open', trip_reason: 'maintenance' }),
      },
      now,
    );
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^NAME\s+STATE\s+REQUESTS\s+FAILURES \(ROW\/TOTAL\)\s+TIMEOUTS\s+REJECTED\s+NEXT ATTEMPT\s+TRIP REASON$/,
    );
    expect(lines[1]).toMatch(
      /^max-gpu\s+open\s+10\s+3\/4\s+1\s+7\s+in 13 s\s+3 consecutive failures \(last: status: HTTP 503\)$/,
    );
    expect(lines[2]).toMatch(/^ollama-cpu\s+closed\s+5\s+0\/0\s+0\s+0\s+-\s+-$/);
    expect(lines[3]).toMatch(/^cache\s+forced_open\s+0\s+0\/0\s+0\s+0\s+held \(reset\)\s+maintenance$/);
  });
});

describe('breakwater status', () => {
  it('prints the breaker table of a running sidecar', async () => {
    full = await startFull();
    await full.max.setFault({ mode: 'status', status: 503 });
    await chat(full.proxyUrl);
    await chat(full.proxyUrl);
    const snapshot = full.sidecar
      .breakers()
      .find((b) => b.name === 'max-gpu')!
      .snapshot();
    // Opened with the policy's 30 s recovery (no jitter in basePolicy).
    const next = Date.parse(snapshot.next_attempt_at!);
    expect(next - Date.parse(snapshot.opened_at!)).toBe(30_000);
    const before = Date.now();
    const r = await runCli(['status', '--admin', full.adminUrl]);
    const after = Date.now();
    expect(r.code).toBe(0);
    const row = /^max-gpu\s+open\s+2\s+2\/2\s+0\s+0\s+in (\d+) s\s+2 consecutive failures/m.exec(r.out);
    expect(row, r.out).not.toBeNull();
    // The CLI counts from its own clock, read between `before` and `after` (a loaded machine
    // may take seconds to start it): exactly the seconds left at some moment in that span.
    const seconds = Number(row![1]);
    expect(seconds).toBeGreaterThanOrEqual(Math.ceil((next - after) / 1000));
    expect(seconds).toBeLessThanOrEqual(Math.ceil((next - before) / 1000));
    expect(Math.ceil((next - before) / 1000)).toBeLessThanOrEqual(30);
    expect(r.out).toMatch(/^ollama-cpu\s+closed\s+2\s+0\/0/m);
  });

  it('prints the admin API JSON with --json', async () => {
    full = await startFull();
    const r = await runCli(['status', '--admin', full.adminUrl, '--json']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out) as { circuit_breakers: Record<string, { state: string }> };
    expect(Object.keys(body.circuit_breakers)).toEqual(['max-gpu', 'ollama-cpu']);
  });

  it('sends the token on reads when the admin listener is not loopback', async () => {
    full = await startFull({
      policy: (m, o) =>
        `${basePolicy(m, o).replace('admin: 127.0.0.1:0', 'admin: 0.0.0.0:0')}admin: { token: r34d }\n`,
    });
    const url = full.adminUrl.replace('127.0.0.1', 'localhost');
    const refused = await runCli(['status', '--admin', url]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('BW_ERR_ADMIN_UNAUTHORIZED');
    const ok = await runCli(['status', '--admin', url], { BREAKWATER_ADMIN_TOKEN: 'r34d' });
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^max-gpu\s+closed/m);
  });

  it('exits 1 naming the URL when the admin API is unreachable', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await runCli(['status', '--admin', url]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('BW_ERR_ADMIN_UNREACHABLE');
    expect(r.err).toContain(url);
    expect(r.err).toContain('ECONNREFUSED');
  });

  it('redraws with --watch until interrupted and then exits 0', async () => {
    full = await startFull();
    const child = spawnCli(['status', '--admin', full.adminUrl, '--watch']);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (child.stdout().includes('ollama-cpu')) resolve();
      };
      child.proc.stdout.on('data', check);
      check();
    });
    expect(child.stdout()).toContain('Ctrl-C to stop');
    child.proc.kill('SIGINT');
    expect(await child.exited).toBe(0);
  });
});

describe('breakwater breaker', () => {
  it('forces a breaker open with a reason and resets it', async () => {
    full = await startFull();
    const open = await runCli([
      'breaker',
      'open',
      'max-gpu',
      '--reason',
      'GPU maintenance',
      '--admin',
      full.adminUrl,
    ]);
    expect(open.code).toBe(0);
    expect(open.out).toBe('max-gpu: forced_open (GPU maintenance)\n');
    expect(full.sidecar.breakers()[0]!.state).toBe('forced_open');
    const reset = await runCli(['breaker', 'reset', 'max-gpu', '--admin', full.adminUrl]);
    expect(reset.code).toBe(0);
    expect(reset.out).toBe('max-gpu: closed\n');
  });

  it('resets every breaker with --all', async () => {
    full = await startFull();
    for (const b of full.sidecar.breakers()) b.forceOpen();
    const r = await runCli(['breaker', 'reset', '--all', '--admin', full.adminUrl]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('max-gpu: closed\nollama-cpu: closed\n');
  });

  it('exits 3 when the breaker does not exist', async () => {
    full = await startFull();
    const r = await runCli(['breaker', 'reset', 'nope', '--admin', full.adminUrl]);
    expect(r.code).toBe(3);
    expect(r.err).toContain('BW_ERR_BREAKER_NOT_FOUND');
  });

  it('exits 2 when neither a name nor --all is given', async () => {
    const r = await runCli(['breaker', 'reset']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('NAME or --all');
  });

  it('sends the token from BREAKWATER_ADMIN_TOKEN and exits 1 when refused', async () => {
    full = await startFull({ policy: (m, o) => `admin: { token: s3cret }\n${basePolicy(m, o)}` });
    const refused = await runCli(['breaker', 'open', 'max-gpu', '--admin', full.adminUrl]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('BW_ERR_ADMIN_UNAUTHORIZED');
    const ok = await runCli(['breaker', 'open', 'max-gpu', '--admin', full.adminUrl], {
      BREAKWATER_ADMIN_TOKEN: 's3cret',
    });
    expect(ok.code).toBe(0);
    const flag = await runCli(['breaker', 'reset', 'max-gpu', '--token', 's3cret', '--admin', full.adminUrl]);
    expect(flag.code).toBe(0);
  });
});
