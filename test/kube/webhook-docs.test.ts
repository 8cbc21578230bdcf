import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANNOTATIONS, WebhookMetrics } from '../../src/kube/index.ts';
import { ROOT } from './tools.ts';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const GUIDE = readFileSync(join(ROOT, 'docs', 'kubernetes.md'), 'utf8');

/** The part of a Markdown document under `heading`, up to the next heading of the same level. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const level = heading.split(' ')[0]!;
  const end = doc.indexOf(`\n${level} `, start + heading.length);
  return doc.slice(start, end < 0 ? undefined : end);
}

describe('webhook docs', () => {
  it('list every annotation the webhook reads, in the README and the guide', () => {
    const readme = section(README, '### Automatic injection');
    const guide = section(GUIDE, '## Automatic injection: the admission webhook');
    for (const name of ANNOTATIONS) {
      expect(readme, name).toContain(`\`${name}\``);
      expect(guide, name).toMatch(new RegExp(`^\\| \`${name.replace('.', '\\.')}\` \\|`, 'm'));
    }
  });

  it('list every metric the webhook exports', async () => {
    const names = (await new WebhookMetrics({ processMetrics: false }).registry.getMetricsAsJSON()).map(
      (m) => m.name,
    );
    expect(names.length).toBe(4);
    for (const name of names) expect(GUIDE).toContain(`| \`${name}\` |`);
  });
});
