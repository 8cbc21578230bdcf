import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const MAX_LINES = 300;

/** Every `.ts` file below `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  return names.filter((n) => n.endsWith('.ts')).map((n) => join(dir, n));
}

describe('source layout', () => {
  it(`keeps every file in src under ${MAX_LINES} lines`, async () => {
    const long: string[] = [];
    for (const f of await filesUnder(SRC)) {
      const lines = (await readFile(f, 'utf8')).split('\n').length - 1;
      if (lines > MAX_LINES) long.push(`${relative(SRC, f)}: ${lines}`);
    }
    expect(long).toEqual([]);
  });

  it('passes no state between modules through module-level WeakMaps', async () => {
    const found: string[] = [];
    for (const f of await filesUnder(SRC)) {
      const text = await readFile(f, 'utf8');
      if (/^(export )?const \w+ = new WeakMap/m.test(text)) found.push(relative(SRC, f));
    }
    expect(found).toEqual([]);
  });
});
