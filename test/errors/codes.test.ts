import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BreakwaterError, ErrorCode, HTTP_STATUS } from '../../src/errors/index.ts';

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

describe('HTTP_STATUS', () => {
  it('maps every code to one status, and errors take theirs from it', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(HTTP_STATUS[code]).toBeGreaterThanOrEqual(400);
      expect(new BreakwaterError(code, 'x').status).toBe(HTTP_STATUS[code]);
    }
  });

  it('agrees with the status column of the README error table', async () => {
    const readme = await readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Errors'));
    for (const code of Object.values(ErrorCode)) {
      const m = new RegExp(`\\| \`${code}\` \\| ([^|]+) \\|`).exec(table);
      const documented = m![1]!.trim();
      if (documented !== '—') expect(Number(documented)).toBe(HTTP_STATUS[code]);
      else expect(HTTP_STATUS[code]).toBe(500);
    }
  });
});
