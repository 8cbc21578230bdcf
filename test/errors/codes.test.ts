import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors/index.ts';

describe('error codes', () => {
  it('lists every code in the README error table', async () => {
    const readme = await readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Errors'));
    for (const code of Object.values(ErrorCode)) expect(table).toContain(`| \`${code}\` |`);
  });

  it('never reuses a code for two names', () => {
    const values = Object.values(ErrorCode);
    expect(new Set(values).size).toBe(values.length);
    for (const v of values) expect(v).toMatch(/^BW_ERR_[A-Z]+_[A-Z_]+$/);
  });
});
