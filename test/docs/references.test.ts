import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** Every `.ts` file below `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  return names.filter((n) => n.endsWith('.ts')).map((n) => join(dir, n));
}

async function sources(): Promise<{ path: string; text: string }[]> {
  const all = [
    ...(await filesUnder(join(ROOT, 'src'))),
    ...(await filesUnder(join(ROOT, 'test'))),
    ...(await filesUnder(join(ROOT, 'bench'))),
  ];
  return Promise.all(all.map(async (p) => ({ path: relative(ROOT, p), text: await readFile(p, 'utf8') })));
}

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces → `-`. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

describe('references in code comments', () => {
  it('never cite documents that are not in the repository', async () => {
    // Built from parts so that this file does not match itself.
    const outside = new RegExp(['SPEC', 'STYLE'].map((d) => `${d} \u00a7`).join('|'));
    const docs = (await readdir(join(ROOT, 'docs')))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join('docs', f));
    const texts = [
      ...(await sources()),
      ...(await Promise.all(
        [...docs, 'README.md', 'CONTRIBUTING.md', 'CHANGELOG.md'].map(async (p) => ({
          path: p,
          text: await readFile(join(ROOT, p), 'utf8'),
        })),
      )),
    ];
    const offenders = texts.filter((f) => outside.test(f.text)).map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it('point at headings that exist when they name a docs anchor', async () => {
    const anchors = new Map<string, Set<string>>();
    const broken: string[] = [];
    for (const f of await sources()) {
      for (const m of f.text.matchAll(/\b(docs\/[a-z-]+\.md|CONTRIBUTING\.md|README\.md)#([a-z0-9-]+)/g)) {
        const doc = m[1]!;
        let set = anchors.get(doc);
        if (set === undefined) {
          const text = await readFile(join(ROOT, doc), 'utf8');
          set = new Set([...text.matchAll(/^#+ (.+)$/gm)].map((h) => anchorOf(h[1]!)));
          anchors.set(doc, set);
        }
        if (!set.has(m[2]!)) broken.push(`${f.path}: ${doc}#${m[2]!}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
