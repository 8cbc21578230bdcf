import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['src/main.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}

function aliasBomb(): string {
  let text = `a: &a [${Array(9).fill('"lol"').join(',')}]\n`;
  for (const [prev, next] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi']) {
    text += `${next}: &${next} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
  }
  return text;
}

/** Each hostile file and the message `validate` and `run` must give for it. */
const CASES: ReadonlyArray<{ name: string; make: (file: string) => Promise<void>; message: RegExp }> = [
  {
    name: 'fifo',
    make: (file) => {
      execFileSync('mkfifo', [file]);
      return Promise.resolve();
    },
    message: /: cannot read the policy file \(expected a regular file, got a FIFO\)$/,
  },
  {
    name: 'directory',
    make: (file) => mkdir(file),
    message: /\(expected a regular file, got a directory\)$/,
  },
  {
    name: 'loop',
    make: async (file) => {
      await symlink(`${file}.b`, `${file}.a`);
      await symlink(`${file}.a`, `${file}.b`);
      await symlink(`${file}.a`, file);
    },
    message: /\(ELOOP: too many levels of symbolic links, a symlink loop\)$/,
  },
  {
    name: 'huge',
    make: (file) => writeFile(file, `# ${'x'.repeat(5 * 1024 * 1024)}\n`),
    message: /: expected at most 1,048,576 bytes \(1 MiB\), got 5,242,883 \(a policy file limit/,
  },
  {
    name: 'bomb',
    make: (file) => writeFile(file, aliasBomb()),
    message: /:\d+:\d+: expected at most 10,000 nodes with aliases/,
  },
  {
    name: 'latin1',
    make: (file) => writeFile(file, Buffer.from('upstreams:\n  caf\xe9: {}\n', 'latin1')),
    message: /:2:6: not UTF-8: invalid byte sequence at byte offset 16 \(0xE9\)$/,
  },
  {
    name: 'empty',
    make: (file) => writeFile(file, ''),
    message: /:1:1: \(root\): .*, got an empty document$/,
  },
];

describe('validate and run with a hostile policy file', () => {
  let dir: string;
  const files = new Map<string, string>();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bw-hostile-cli-'));
    for (const c of CASES) {
      const file = join(dir, `${c.name}.yaml`);
      await c.make(file);
      files.set(c.name, file);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validate exits 2 and names each file with its problem', async () => {
    const run = await cli(['validate', ...files.values()]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(CASES.length);
    CASES.forEach((c, i) => {
      expect(lines[i]!.startsWith(files.get(c.name)!)).toBe(true);
      expect(lines[i]).toMatch(c.message);
    });
  });

  // run loads with the same code as validate (above, every case): here the FIFO, which must not
  // hang the start, and the alias bomb, which must not expand.
  it('run exits 2 at start and names the problem when the file is a FIFO or an alias bomb', async () => {
    const cases = CASES.filter((c) => c.name === 'fifo' || c.name === 'bomb');
    const runs = await Promise.all(cases.map((c) => cli(['run', '--config', files.get(c.name)!])));
    cases.forEach((c, i) => {
      const run = runs[i]!;
      expect(run.code, c.name).toBe(2);
      expect(run.stderr.startsWith(`breakwater: invalid policy\n${files.get(c.name)!}`), c.name).toBe(true);
      expect(run.stderr.trim().split('\n')[1]).toMatch(c.message);
    });
  }, 60_000);
});
