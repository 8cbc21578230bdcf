import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError } from '../../src/policy/index.ts';

const DOC = readFileSync(join(import.meta.dirname, '../../docs/policy.md'), 'utf8');
const blocks = [...DOC.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], body: m[2] ?? '' }));
const yamlBlocks = blocks.filter((b) => b.lang === 'yaml').map((b) => b.body);
const ENV = { OLLAMA_KEY: 'k', REDIS_PASSWORD: 'p', BREAKWATER_ADMIN_TOKEN: 't' };

describe('docs/policy.md', () => {
  it('has the error example followed by its exact output', () => {
    const erroneous = yamlBlocks[0]!;
    const output = blocks.find((b) => b.lang === 'text' && b.body.includes(':6:18:'))!.body.trimEnd();
    let message = '';
    try {
      parsePolicy(erroneous, { file: '/etc/breakwater/policy.yaml', env: ENV });
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      message = (err as PolicyError).message;
    }
    expect(message).toBe(output);
  });

  it.each(yamlBlocks.slice(1).map((body, i) => [i + 1, body]))(
    'loads example %d when its variables are set',
    (_n, body) => {
      expect(() => parsePolicy(body, { file: null, env: ENV })).not.toThrow();
    },
  );
});
