import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function validate(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['src/main.ts', 'validate', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 15_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}

describe('breakwater validate', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bw-validate-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 and prints one ok line per file when every file is valid', async () => {
    const run = await validate(['config/minimal.yaml', 'config/full.yaml']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^ok {2}config\/minimal\.yaml \(sha256 [0-9a-f]{12}…, 2 upstreams, 1 route\)$/);
    expect(lines[1]).toMatch(/^ok {2}config\/full\.yaml \(sha256 [0-9a-f]{12}…, 2 upstreams, 2 routes\)$/);
  });

  it('exits 2 and names file, line and key on stderr when a file is invalid', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      'upstreams:\n  max-gpu:\n    url: http://max-serve:8000\n    breaker: { failureThreshld: 3 }\n',
    );
    const run = await validate(['config/minimal.yaml', bad]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^ok {2}config\/minimal\.yaml/);
    expect(run.stderr).toBe(
      `${bad}:4:16: upstreams.max-gpu.breaker.failureThreshld: unknown key (did you mean failureThreshold?)\n`,
    );
  });

  it('interpolates from its environment when a file uses ${NAME}', async () => {
    const file = join(dir, 'env.yaml');
    await writeFile(file, 'upstreams:\n  a:\n    url: ${UPSTREAM_URL}\n');
    expect((await validate([file], { UPSTREAM_URL: 'http://a:1' })).code).toBe(0);
    const missing = await validate([file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `${file}:3:10: upstreams.a.url: environment variable UPSTREAM_URL is not set`,
    );
  });

  it('prints every file with its problems as JSON when --json is given', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'upstreams: {}\n');
    const run = await validate(['--json', 'config/minimal.yaml', bad, join(dir, 'missing.yaml')]);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as {
      files: Array<{ file: string; ok: boolean; problems: unknown[] }>;
    };
    expect(report.files.map((f) => [f.file, f.ok, f.problems.length])).toEqual([
      ['config/minimal.yaml', true, 0],
      [bad, false, 1],
      [join(dir, 'missing.yaml'), false, 1],
    ]);
    expect(report.files[1]!.problems[0]).toEqual({
      file: bad,
      line: 1,
      column: 12,
      path: 'upstreams',
      message: 'expected at least one upstream, got none',
    });
    expect(report.files[2]!.problems[0]).toMatchObject({
      line: null,
      column: null,
      message: 'cannot read the policy file (ENOENT)',
    });
  });

  it('exits 2 when no file is given', async () => {
    const run = await validate([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/missing required argument/);
  });
});
