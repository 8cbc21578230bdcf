import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startMock, type MockServer } from '../../src/mock/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');

let child: ChildProcess | null = null;
let mock: MockServer | null = null;
let dir: string | null = null;
afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  child = null;
  await mock?.close();
  mock = null;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

/** Starts `breakwater run` and resolves with the fields of its `breakwater listening` log line. */
function startRun(config: string, env: Record<string, string>): Promise<{ proxy: string[] }> {
  child = spawn(process.execPath, ['src/main.ts', 'run', '--config', config], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child!.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      for (const line of buf.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const rec = JSON.parse(line) as { msg?: string; proxy?: string[] };
          if (rec.msg === 'breakwater listening') resolve({ proxy: rec.proxy! });
        } catch {
          // a partial line: wait for the rest
        }
      }
    });
    child!.once('exit', (code) => reject(new Error(`breakwater exited ${code}`)));
  });
}

describe('breakwater run environment', () => {
  it('listens on every BREAKWATER_LISTEN_PROXY address and resolves upstreams by DNS when asked', async () => {
    mock = await startMock({ kind: 'max' });
    dir = await mkdtemp(join(tmpdir(), 'bw-env-'));
    const config = join(dir, 'policy.yaml');
    await writeFile(
      config,
      `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }\nupstreams:\n  max-gpu: { url: "${mock.url}" }\n`,
    );
    const { proxy } = await startRun(config, {
      BREAKWATER_LISTEN_PROXY: '127.0.0.1:0,127.0.0.1:0',
      BREAKWATER_RESOLVER: 'dns',
      LOG_LEVEL: 'info',
    });
    expect(proxy).toHaveLength(2);
    for (const address of proxy) {
      const res = await fetch(`http://${address}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-breakwater-tier')).toBe('max-gpu');
      await res.text();
    }
    expect(mock.stats().requests).toBe(2);
  });

  it('exits 2 naming the variable when BREAKWATER_LISTEN_PROXY is not host:port', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bw-env-'));
    const config = join(dir, 'policy.yaml');
    await writeFile(config, 'upstreams:\n  max-gpu: { url: "http://127.0.0.1:9" }\n');
    child = spawn(process.execPath, ['src/main.ts', 'run', '--config', config], {
      cwd: ROOT,
      env: { ...process.env, BREAKWATER_LISTEN_PROXY: 'not-an-address' },
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise((r) => child!.once('exit', r));
    expect(code).toBe(2);
    expect(stderr).toContain('BREAKWATER_LISTEN_PROXY');
  });
});
