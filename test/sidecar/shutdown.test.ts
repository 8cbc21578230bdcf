import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors/index.ts';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { chat, spawnCli, type Child } from './helpers.ts';

interface Running {
  child: Child;
  proxyUrl: string;
  healthUrl: string;
}

const open: { mocks: MockServer[]; children: Child[]; dirs: string[] } = {
  mocks: [],
  children: [],
  dirs: [],
};

afterEach(async () => {
  for (const c of open.children)
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await Promise.all(open.children.map((c) => c.exited));
  await Promise.all(open.mocks.map((m) => m.close()));
  for (const d of open.dirs) await rm(d, { recursive: true, force: true });
  open.mocks = [];
  open.children = [];
  open.dirs = [];
});

/** A slow-streaming mock MAX and `breakwater run` on a temp policy file, as a real child process. */
async function run(shutdown: string, mock: { chunkDelayMs: number; streamChunks: number }): Promise<Running> {
  const max = await startMock({ kind: 'max', ...mock });
  open.mocks.push(max);
  const dir = await mkdtemp(join(tmpdir(), 'bw-shutdown-'));
  open.dirs.push(dir);
  const file = join(dir, 'policy.yaml');
  await writeFile(
    file,
    `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu: { url: "${max.url}", timeout: { firstByte: 5s, idle: 5s } }
shutdown: ${shutdown}
`,
  );
  const child = spawnCli(['run', '--config', file]);
  open.children.push(child);
  const ready = await child.waitForLog((l) => l.msg === 'breakwater listening');
  const port = (a: unknown): string => `http://${String(a)}`;
  return { child, proxyUrl: port((ready.proxy as string[])[0]), healthUrl: port(ready.health) };
}

async function readAll(res: Response): Promise<string> {
  let text = '';
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += Buffer.from(value).toString();
  }
}

describe('graceful shutdown of breakwater run', () => {
  it('fails readiness at once, keeps serving while draining, lets the stream finish and exits 0', async () => {
    const r = await run('{ drainDelay: 300ms, quietPeriod: 200ms, timeout: 20s }', {
      chunkDelayMs: 120,
      streamChunks: 12,
    });
    expect((await fetch(`${r.healthUrl}/healthz/ready`)).status).toBe(200);
    const stream = await chat(r.proxyUrl, { stream: true });
    expect(stream.status).toBe(200);
    const body = readAll(stream);
    r.child.proc.kill('SIGTERM');
    await r.child.waitForLog((l) => String(l.msg).startsWith('shutting down'));
    const ready = await fetch(`${r.healthUrl}/healthz/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ shutting_down: true });
    const during = await chat(r.proxyUrl);
    expect(during.status).toBe(200);
    expect(during.headers.get('x-breakwater-tier')).toBe('max-gpu');
    const text = await body;
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text).not.toContain(ErrorCode.SHUTDOWN);
    expect(await r.child.exited).toBe(0);
    const stopped = await r.child.waitForLog((l) => l.msg === 'stopped');
    expect(stopped.outcome).toBe('quiet');
  });

  it('cuts a stream still running at shutdown.timeout with a protocol error event and exits 0', async () => {
    const r = await run('{ drainDelay: 0s, quietPeriod: 0s, timeout: 400ms }', {
      chunkDelayMs: 200,
      streamChunks: 100,
    });
    const stream = await chat(r.proxyUrl, { stream: true });
    expect(stream.status).toBe(200);
    const body = readAll(stream);
    r.child.proc.kill('SIGTERM');
    const text = await body;
    expect(text).toContain(`"code":"${ErrorCode.SHUTDOWN}"`);
    expect(text).not.toContain('[DONE]');
    expect(await r.child.exited).toBe(0);
    expect((await r.child.waitForLog((l) => l.msg === 'stopped')).outcome).toBe('timeout');
  });

  it('exits at once on a second signal', async () => {
    const r = await run('{ drainDelay: 30s, quietPeriod: 1s, timeout: 60s }', {
      chunkDelayMs: 0,
      streamChunks: 4,
    });
    r.child.proc.kill('SIGTERM');
    await r.child.waitForLog((l) => String(l.msg).startsWith('shutting down'));
    r.child.proc.kill('SIGTERM');
    expect(await r.child.exited).toBe(0);
    expect(r.child.stdout()).toContain('second signal');
  });
});
