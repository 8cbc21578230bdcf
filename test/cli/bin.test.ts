import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
/** The package's `bin` as built (`npm test` builds first). */
const BIN = join(ROOT, 'dist', 'main.js');
const pkg = (await import(join(ROOT, 'package.json'), { with: { type: 'json' } })) as {
  default: { version: string; bin: Record<string, string> };
};

describe('the built command', () => {
  it('is the package bin, executable by itself through its shebang (as `npx breakwater` runs it)', async () => {
    expect(join(ROOT, pkg.default.bin.breakwater!)).toBe(BIN);
    expect(statSync(BIN).mode & 0o111).toBe(0o111);
    const { stdout } = await promisify(execFile)(BIN, ['--version'], { cwd: ROOT });
    expect(stdout.trim()).toBe(pkg.default.version);
  });
});
