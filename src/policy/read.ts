import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { ErrorCode } from '../errors/index.ts';
import { formatCount, limitMessage, POLICY_LIMITS } from './limits.ts';
import { PolicyError } from './problems.ts';

// O_NONBLOCK: opening a FIFO that replaced the file after stat() returns at once instead of
// waiting for a writer (a blocked open held a libuv thread for good, and the process could not
// exit). O_NOCTTY: a terminal device never becomes the controlling terminal.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

// errno codes are kept as they are (`ENOENT`), with a word where the code alone says little.
const REASONS: Partial<Record<string, string>> = {
  ELOOP: 'ELOOP: too many levels of symbolic links, a symlink loop',
};

function unreadable(file: string, reason: string, cause?: unknown): PolicyError {
  const problem = {
    file,
    line: null,
    column: null,
    path: '',
    message: `cannot read the policy file (${reason})`,
  };
  return new PolicyError(ErrorCode.POLICY_UNREADABLE, [problem], cause === undefined ? {} : { cause });
}

function tooLarge(file: string, got: string): PolicyError {
  const expected = `at most ${formatCount(POLICY_LIMITS.maxFileBytes)} bytes (1 MiB)`;
  const problem = { file, line: null, column: null, path: '', message: limitMessage(expected, got) };
  return new PolicyError(ErrorCode.POLICY_INVALID, [problem]);
}

function kindOf(st: Stats): string | null {
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function notRegular(file: string, st: Stats): PolicyError | null {
  const kind = kindOf(st);
  return kind === null ? null : unreadable(file, `expected a regular file, got ${kind}`);
}

function fsError(file: string, err: unknown): PolicyError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === undefined ? (err as Error).message : (REASONS[code] ?? code);
  return unreadable(file, reason, err);
}

/**
 * Reads the policy file's bytes, safely against whatever the mounted path holds: only a regular
 * file is read (`stat` follows the ConfigMap's `..data` symlinks; the open fd is checked again, so
 * a swap between the two cannot block), and never more than `POLICY_LIMITS.maxFileBytes` + 1
 * bytes. Throws a `PolicyError`: `BW_ERR_POLICY_UNREADABLE` for a missing file, a symlink loop, a
 * directory, a FIFO, a device, a permission error; `BW_ERR_POLICY_INVALID` for a file over the limit.
 */
export async function readPolicyBytes(file: string): Promise<Buffer> {
  const limit = POLICY_LIMITS.maxFileBytes;
  let handle;
  try {
    const before = notRegular(file, await stat(file));
    if (before) throw before;
    handle = await open(file, OPEN_FLAGS);
  } catch (err) {
    throw err instanceof PolicyError ? err : fsError(file, err);
  }
  try {
    const st = await handle.stat();
    const after = notRegular(file, st);
    if (after) throw after;
    if (st.size > limit) throw tooLarge(file, formatCount(st.size));
    // The file may grow between fstat and read: read until EOF, but never more than limit + 1 bytes.
    let buf = Buffer.allocUnsafe(Math.min(st.size, limit) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) throw tooLarge(file, `more than ${formatCount(limit)}`);
      if (length === buf.length) {
        const bigger = Buffer.allocUnsafe(limit + 1);
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
    }
    return buf.subarray(0, length);
  } catch (err) {
    throw err instanceof PolicyError ? err : fsError(file, err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Offset of the first byte that does not start a valid UTF-8 sequence (RFC 3629 §4), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0 || i + n >= b.length) return i;
    const c1 = b[i + 1]!;
    // Overlong forms, UTF-16 surrogates and code points above U+10FFFF are not UTF-8.
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return i;
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    for (let k = 1; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}

const DECODER = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes the file's bytes as UTF-8 (a BOM is dropped). Bytes that are not UTF-8 are a
 * `BW_ERR_POLICY_INVALID` error naming line, column and byte offset of the first bad byte.
 */
export function decodePolicy(file: string, bytes: Uint8Array): string {
  try {
    return DECODER.decode(bytes);
  } catch {
    // Not UTF-8: find where, below.
  }
  const bad = Math.max(0, firstInvalidUtf8(bytes));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < bad; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = new TextDecoder().decode(bytes.subarray(lineStart, bad)).length + 1;
  const hex = (bytes[bad] ?? 0).toString(16).toUpperCase().padStart(2, '0');
  const message = `not UTF-8: invalid byte sequence at byte offset ${bad} (0x${hex})`;
  throw new PolicyError(ErrorCode.POLICY_INVALID, [{ file, line, column, path: '', message }]);
}
