import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors/index.ts';
import { loadPolicyFile, PolicyError, readPolicyBytes } from '../../src/policy/index.ts';
import { firstInvalidUtf8 } from '../../src/policy/read.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bw-read-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(file: string): Promise<PolicyError> {
  const err = await loadPolicyFile(file, { env: {} }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PolicyError);
  return err as PolicyError;
}

describe('reading the policy file', () => {
  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const file = join(dir, 'policy.yaml');
    execFileSync('mkfifo', [file]);
    const err = await rejection(file);
    expect(err.code).toBe(ErrorCode.POLICY_UNREADABLE);
    expect(err.message).toBe(`${file}: cannot read the policy file (expected a regular file, got a FIFO)`);
  });

  it('refuses a FIFO behind the ConfigMap symlinks', async () => {
    await mkdir(join(dir, '..2026'));
    execFileSync('mkfifo', [join(dir, '..2026', 'policy.yaml')]);
    await symlink('..2026', join(dir, '..data'));
    await symlink('..data/policy.yaml', join(dir, 'policy.yaml'));
    expect((await rejection(join(dir, 'policy.yaml'))).message).toMatch(/got a FIFO\)$/);
  });

  it('refuses a directory and a character device', async () => {
    const sub = join(dir, 'policy.yaml');
    await mkdir(sub);
    expect((await rejection(sub)).message).toMatch(/\(expected a regular file, got a directory\)$/);
    const dev = join(dir, 'zero.yaml');
    await symlink('/dev/zero', dev);
    expect((await rejection(dev)).message).toMatch(/\(expected a regular file, got a character device\)$/);
  });

  it('names a symlink loop in the mounted directory', async () => {
    await symlink('..data', join(dir, '..data_tmp'));
    await symlink('..data_tmp', join(dir, '..data'));
    await symlink('..data/policy.yaml', join(dir, 'policy.yaml'));
    const err = await rejection(join(dir, 'policy.yaml'));
    expect(err.code).toBe(ErrorCode.POLICY_UNREADABLE);
    expect(err.message).toMatch(/\(ELOOP: too many levels of symbolic links, a symlink loop\)$/);
  });

  it('refuses a file over the size limit from its size alone', async () => {
    // Sparse: 50 MiB that cost nothing to create and must not be read.
    const file = join(dir, 'policy.yaml');
    await writeFile(file, 'upstreams: {}\n');
    await truncate(file, 50 * 1024 * 1024);
    const err = await rejection(file);
    expect(err.code).toBe(ErrorCode.POLICY_INVALID);
    expect(err.problems).toEqual([
      {
        file,
        line: null,
        column: null,
        path: '',
        message:
          'expected at most 1,048,576 bytes (1 MiB), got 52,428,800 (a policy file limit, see docs/policy.md)',
      },
    ]);
  });

  it('reads a file of exactly the size limit', async () => {
    const file = join(dir, 'policy.yaml');
    const head = 'upstreams: { a: { url: "http://a" } }\n#';
    await writeFile(file, `${head}${'x'.repeat(1024 * 1024 - head.length - 1)}\n`);
    expect((await readPolicyBytes(file)).length).toBe(1024 * 1024);
    await expect(loadPolicyFile(file, { env: {} })).resolves.toMatchObject({ upstreams: [{ name: 'a' }] });
  });

  it('says an empty file is an empty document', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, '');
    const err = await rejection(file);
    expect(err.code).toBe(ErrorCode.POLICY_INVALID);
    expect(err.message).toBe(
      `${file}:1:1: (root): expected a policy mapping (with at least "upstreams"), got an empty document`,
    );
  });

  it('names the line, column and byte offset of the first byte that is not UTF-8', async () => {
    const file = join(dir, 'policy.yaml');
    const text = Buffer.from('upstreams:\n  a: { url: "http://é', 'utf8');
    await writeFile(file, Buffer.concat([text, Buffer.from([0xc3, 0x28, 0x22, 0x7d, 0x0a])]));
    const err = await rejection(file);
    expect(err.code).toBe(ErrorCode.POLICY_INVALID);
    expect(err.problems[0]).toMatchObject({ line: 2, column: 22 });
    expect(err.problems[0]!.message).toBe(
      `not UTF-8: invalid byte sequence at byte offset ${text.length} (0xC3)`,
    );
  });
});

describe('firstInvalidUtf8', () => {
  it.each([
    ['ASCII', [0x61, 0x62], -1],
    ['two, three and four-byte characters', [...Buffer.from('é€😀')], -1],
    ['a stray continuation byte', [0x61, 0x80], 1],
    ['an overlong two-byte form', [0xc0, 0xaf], 0],
    ['an overlong three-byte form', [0xe0, 0x80, 0xaf], 0],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80], 0],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a truncated sequence at the end', [0x61, 0xe2, 0x82], 1],
    ['a lead byte followed by ASCII', [0xe2, 0x41, 0x41], 0],
  ])('finds %s', (_name, bytes, expected) => {
    expect(firstInvalidUtf8(Uint8Array.from(bytes))).toBe(expected);
    // Agrees with the platform's own decoder.
    let valid = true;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    } catch {
      valid = false;
    }
    expect(valid).toBe(expected === -1);
  });
});
