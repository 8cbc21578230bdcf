import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string | null = null;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('breakwater run', () => {
  it('exits 2 naming file, line and key when the policy has a typo', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bw-run-'));
    const file = join(dir, 'policy.yaml');
    await writeFile(
      file,
      [
        'upstreams:',
        '  max-gpu:',
        '    url: http://127.0.0.1:1',
        '    breaker:',
        '      failureThreshld: 3',
        '',
      ].join('\n'),
    );
    const r = await runCli(['run', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:5:7`);
    expect(r.stderr).toContain('upstreams.max-gpu.breaker.failureThreshld');
  });

  it('exits 2 when the policy file does not exist', async () => {
    const r = await runCli(['run', '--config', '/nonexistent/breakwater/policy.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/nonexistent/breakwater/policy.yaml');
  });

  it('reads the policy path from BREAKWATER_CONFIG', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bw-run-'));
    const file = join(dir, 'env.yaml');
    await writeFile(file, 'upstreams: {}\n');
    const r = await runCli(['run'], { BREAKWATER_CONFIG: file });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
  });
});
