import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { rawFetch, rawRequest } from './raw-http.ts';

let children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
});

interface Started {
  child: ChildProcess;
  line: { url: string; controlUrl: string; fault: unknown; msg: string };
  exit: Promise<number | null>;
}

/** Runs `breakwater mock …` and resolves at its first log line that names the URL. */
async function runMock(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, ['src/main.ts', 'mock', ...args], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  children.push(child);
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const lines = createInterface({ input: child.stdout });
  for await (const text of lines) {
    const parsed = JSON.parse(text) as Started['line'];
    if (typeof parsed.url === 'string') return { child, line: parsed, exit };
  }
  throw new Error(`mock exited before logging its URL (code ${await exit})`);
}

describe('breakwater mock CLI', () => {
  it('logs its URLs, answers, and exits 0 when it gets SIGTERM', async () => {
    const { child, line, exit } = await runMock(['max', '--port', '0', '--control-port', '0']);
    expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.msg).toContain(line.url);
    const r = await rawFetch(line.url, { path: '/v1/models' });
    expect(r.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('starts with the fault of --fail and its modifiers when given', async () => {
    const { child, line, exit } = await runMock([
      'ollama',
      '--port',
      '0',
      '--fail',
      'status',
      '--status',
      '429',
      '--count',
      '1',
    ]);
    expect(line.fault).toEqual({ mode: 'status', status: 429, count: 1 });
    const r = await rawFetch(line.url, { path: '/api/chat', body: '{"model":"m","messages":[]}' });
    expect([r.status, JSON.parse(r.text)]).toEqual([429, { error: 'Too Many Requests (mock fault)' }]);
    child.kill('SIGINT');
    expect(await exit).toBe(0);
  });

  it('starts refusing with --fail refuse, and listens on the same port once cleared', async () => {
    const { child, line, exit } = await runMock(['max', '--port', '0', '--fail', 'refuse']);
    await expect(rawRequest(line.url, { path: '/health' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await rawFetch(line.controlUrl, { method: 'DELETE', path: '/_mock/fault' });
    expect((await rawFetch(line.url, { path: '/health' })).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('exits 2 when the arguments are invalid', async () => {
    const child = spawn(process.execPath, ['src/main.ts', 'mock', 'max', '--fail', 'explode'], {
      stdio: 'ignore',
    });
    children.push(child);
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
  });
});
