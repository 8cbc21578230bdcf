import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerInject } from '../../src/cli/inject.ts';
import { POLICY_CONFIGMAP, workload } from './fixtures.ts';
import { parseObjects } from './schema.ts';
import { breakwater } from './tools.ts';

describe('breakwater inject (child process)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bw-inject-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads stdin and prints the injected manifests when given -f -', async () => {
    const res = await breakwater(['inject', '-f', '-', '--image', 'bw:1'], workload('Deployment'));
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const [dep] = parseObjects(res.stdout);
    expect(JSON.stringify(dep)).toContain('"image":"bw:1"');
  });

  it('reads a file, takes --configmap-file and passes --via hosts flags through', async () => {
    const file = join(dir, 'app.yaml');
    const cm = join(dir, 'cm.yaml');
    writeFileSync(file, workload('StatefulSet'));
    writeFileSync(cm, POLICY_CONFIGMAP);
    const res = await breakwater(['inject', '-f', file, '--configmap-file', cm, '--via', 'hosts']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('checksum/config:');
    expect(res.stdout).toContain('BREAKWATER_LISTEN_PROXY');
    const again = await breakwater(['inject', '--configmap-file', cm, '--via', 'hosts'], res.stdout);
    expect(again.stdout).toBe(res.stdout);
  });

  it('exits 2 naming document and line when the YAML is broken', async () => {
    const res = await breakwater(['inject'], `${POLICY_CONFIGMAP}---\nkind: Pod\nspec: [a\n`);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/breakwater inject: document 2, line \d+, column \d+:/);
  });

  it('exits 2 when a flag value is invalid', async () => {
    const bad = await breakwater(['inject', '--via', 'carrier-pigeon'], workload('Pod'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--via: expected one of env, proxy, hosts');
    const up = await breakwater(['inject', '--upstream', 'max'], workload('Pod'));
    expect(up.code).toBe(2);
    expect(up.stderr).toContain('--upstream: expected NAME=http://host:port');
  });
});

describe('registerInject', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  async function runInProcess(args: string[], input: string): Promise<{ out: string; err: string }> {
    let out = '';
    let err = '';
    const program = new Command().exitOverride();
    registerInject(
      program,
      { out: (t) => void (out += t), err: (t) => void (err += t) },
      Readable.from([input]),
    );
    await program.parseAsync(['inject', ...args], { from: 'user' });
    return { out, err };
  }

  it('collects repeatable --env and --bypass flags', async () => {
    const src = workload('Pod').replace('OPENAI_BASE_URL', 'LLM_URL');
    const env = await runInProcess(['--env', 'LLM_URL', '--env', 'OTHER_URL'], src);
    expect(env.out).toContain('value: http://127.0.0.1:15001/v1');
    const proxy = await runInProcess(['--via', 'proxy', '--bypass', 'redis', '--bypass', 'search'], src);
    expect(proxy.out).toContain('localhost,127.0.0.1,::1,kubernetes.default.svc,redis,search');
    expect(process.exitCode).toBeUndefined();
  });

  it('sets resources from --cpu, --memory and --memory-limit', async () => {
    const res = await runInProcess(
      ['--cpu', '10m', '--memory', '32Mi', '--memory-limit', '128Mi', '--legacy'],
      workload('Pod'),
    );
    const [pod] = parseObjects(res.out);
    const containers = (pod!['spec'] as { containers: { name: string; resources: unknown }[] }).containers;
    expect(containers.find((c) => c.name === 'breakwater')?.resources).toEqual({
      requests: { cpu: '10m', memory: '32Mi' },
      limits: { memory: '128Mi' },
    });
  });

  it('sets exit code 2 when --configmap is not a valid name', async () => {
    const res = await runInProcess(['--configmap', 'Not_A_Name'], workload('Pod'));
    expect(res.err).toContain('--configmap: expected a DNS subdomain name');
    expect(process.exitCode).toBe(2);
  });
});
