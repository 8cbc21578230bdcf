import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../src/policy/index.ts';

const CONFIG_DIR = join(import.meta.dirname, '../../config');
const files = readdirSync(CONFIG_DIR).filter((f) => /\.ya?ml$/.test(f));

describe('config/', () => {
  it('holds the minimal and the full example when listed', () => {
    expect(files).toEqual(expect.arrayContaining(['minimal.yaml', 'full.yaml']));
  });

  it.each(files)('validates %s when loaded with an empty environment', async (file) => {
    const policy = await loadPolicyFile(join(CONFIG_DIR, file), { env: {} });
    expect(policy.upstreams.map((u) => u.name)).toEqual(['max-gpu', 'ollama-cpu']);
    expect(policy.upstreams.map((u) => u.origin)).toEqual(['http://max-serve:8000', 'http://ollama:11434']);
  });

  it('gives full.yaml the same values as the defaults when the keys it shows are defaults', async () => {
    const full = await loadPolicyFile(join(CONFIG_DIR, 'full.yaml'), { env: {} });
    const minimal = await loadPolicyFile(join(CONFIG_DIR, 'minimal.yaml'), { env: {} });
    const { healthCheck, breaker, ...fullMax } = full.upstreams[0]!;
    const { healthCheck: noCheck, breaker: minimalBreaker, ...minimalMax } = minimal.upstreams[0]!;
    expect(fullMax).toEqual(minimalMax);
    expect({ ...breaker, failureRate: null }).toEqual(minimalBreaker);
    expect(noCheck).toBeNull();
    expect(healthCheck).toEqual({
      path: '/health',
      intervalMs: 5_000,
      timeoutMs: 2_000,
      whileClosed: false,
      expectModel: null,
    });
    expect(full.upstreams[1]).toEqual(minimal.upstreams[1]);
    expect({ ...full.cache, url: null }).toEqual(minimal.cache);
    for (const key of ['listen', 'admin', 'readiness', 'shutdown', 'limits', 'resolver'] as const) {
      expect(full[key]).toEqual(minimal[key]);
    }
  });
});
