import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { spawnCli } from '../sidecar/helpers.ts';

let max: MockServer | null = null;
let dir: string | null = null;
afterEach(async () => {
  await max?.close();
  max = null;
  if (dir !== null) await rm(dir, { recursive: true, force: true });
  dir = null;
});

async function runCli(args: string[]): Promise<{ code: number | string; out: string; err: string }> {
  const child = spawnCli(['loadtest', ...args]);
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

describe('breakwater loadtest', () => {
  it('exits 0 and prints parseable JSON when the target answers', async () => {
    max = await startMock({ kind: 'max' });
    const url = `${max.url}/v1/chat/completions`;
    const r = await runCli(['--url', url, '--requests', '20', '--concurrency', '4', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Record<string, unknown>;
    expect(report).toMatchObject({
      url,
      concurrency: 4,
      stream: false,
      requests: 20,
      sent: 20,
      ok: 20,
      byTier: { '-': { count: 20, pct: 100 } },
      byStatus: { '200': 20 },
      errorsByKind: {},
    });
    expect(report.latencyMs).toHaveProperty('p99');
    expect(max.stats().requests).toBe(20);
  });

  it('prints the readable summary and sends the body file and headers when given', async () => {
    max = await startMock({ kind: 'max' });
    dir = await mkdtemp(join(tmpdir(), 'bw-loadtest-'));
    const file = join(dir, 'body.json');
    const body = { model: 'other', messages: [{ role: 'user', content: 'Hi there' }], stream: true };
    await writeFile(file, JSON.stringify(body));
    const url = `${max.url}/v1/chat/completions`;
    const r = await runCli([
      '--url',
      url,
      '--requests',
      '6',
      '--concurrency',
      '2',
      '--body',
      file,
      '--header',
      'x-team: search',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`POST ${url}  concurrency 2, stream\n`);
    expect(r.out).toMatch(/^requests {7}6 in \d+\.\d\d s, [\d.]+ req\/s$/m);
    expect(r.out).toMatch(/^by tier {8}- {2}6 {2}100\.0 %$/m);
    expect(r.out).toMatch(/^errors {9}none$/m);
    expect(r.out).toMatch(/^first byte ms {2}p50 [\d.]+ {2}p99 [\d.]+$/m);
    expect(max.stats().last?.body).toEqual(body);
    expect(max.stats().last?.headers['x-team']).toBe('search');
  });

  it('exits 1 and reports connect errors when the URL refuses connections', async () => {
    const port = await closedPort();
    const r = await runCli([
      '--url',
      `http://127.0.0.1:${port}/v1/chat/completions`,
      '--requests',
      '4',
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ requests: 4, sent: 0, errorsByKind: { connect_error: 4 } });
    expect(r.err).toContain('no request could be sent');
  });

  it('exits 2 when the usage is invalid', async () => {
    const url = 'http://127.0.0.1:1/v1/chat/completions';
    const zero = await runCli(['--url', url, '--requests', '0']);
    expect(zero.code).toBe(2);
    expect(zero.err).toContain('--requests');
    expect((await runCli(['--requests', '5'])).code).toBe(2);
    const missing = await runCli(['--url', url, '--body', '/nonexistent/body.json']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('/nonexistent/body.json');
  });
});
