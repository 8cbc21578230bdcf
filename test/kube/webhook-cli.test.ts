import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { POLICY_CONFIGMAP } from './fixtures.ts';
import { ROOT, run } from './tools.ts';
import { call, decode, makeCert, review, type TestCert } from './webhook-helpers.ts';
import { defaulted, podOf, workloadObject } from './webhook-pods.ts';

/** The built CLI (`npm test` builds first), as the image runs it. */
const MAIN = join(ROOT, 'dist', 'main.js');

let dir: string;
let children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bw-webhook-cli-'));
});
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  await rm(dir, { recursive: true, force: true });
});

async function files(cert: TestCert): Promise<string[]> {
  const [c, k] = [join(dir, 'tls.crt'), join(dir, 'tls.key')];
  await writeFile(c, cert.cert);
  await writeFile(k, cert.key);
  return ['--cert', c, '--key', k];
}

interface Started {
  child: ChildProcess;
  port: number;
  exit: Promise<number | null>;
  lines: Record<string, unknown>[];
}

/** Runs `breakwater webhook ARGS` and resolves at its `webhook listening` log line. */
async function start(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [MAIN, 'webhook', '--listen', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  children.push(child);
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const lines: Record<string, unknown>[] = [];
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      if (line['msg'] === 'webhook listening') resolve((line['address'] as { port: number }).port);
    });
    void exit.then((code) => reject(new Error(`webhook exited (${code}) before listening`)));
  });
  return { child, port: await port, exit, lines };
}

describe('breakwater webhook (child process)', () => {
  it('answers reviews with the flags of inject, and exits 0 on SIGTERM after the shutdown delay', async () => {
    const cert = await makeCert();
    const cm = join(dir, 'policy-configmap.yaml');
    await writeFile(cm, POLICY_CONFIGMAP);
    const { child, port, exit, lines } = await start([
      ...(await files(cert)),
      '--image',
      'registry.example/breakwater:1',
      '--via',
      'hosts',
      '--configmap-file',
      cm,
      '--shutdown-delay',
      '0s',
    ]);
    const pod = defaulted(podOf('Deployment', workloadObject('Deployment', 'plain')));
    const d = decode(await call(port, cert.cert, '/mutate', { body: JSON.stringify(review(pod)) }));
    const sidecar = d.patch?.find((op) => op.path === '/spec/initContainers');
    expect(sidecar).toMatchObject({ value: [{ image: 'registry.example/breakwater:1' }] });
    expect(JSON.stringify(sidecar)).toContain('BREAKWATER_LISTEN_PROXY');
    expect(d.patch?.some((op) => op.path === '/spec/hostAliases')).toBe(true);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(lines.map((l) => l['msg'])).toEqual(
      expect.arrayContaining([
        'sidecar injected',
        'shutting down: /healthz failing, still answering reviews',
        'stopped',
      ]),
    );
  });

  it('fails /healthz at once on SIGTERM but keeps answering reviews during the shutdown delay', async () => {
    const cert = await makeCert();
    const { child, port, exit } = await start([...(await files(cert)), '--shutdown-delay', '30s']);
    child.kill('SIGTERM');
    let health = await call(port, cert.cert, '/healthz');
    for (let i = 0; i < 200 && health.status === 200; i++) health = await call(port, cert.cert, '/healthz');
    expect(health.status).toBe(503);
    const pod = defaulted(podOf('Pod', workloadObject('Pod', 'plain')));
    expect(
      decode(await call(port, cert.cert, '/mutate', { body: JSON.stringify(review(pod)) })).patch,
    ).not.toBeNull();
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('exits 2 naming the problem when flags or files are unusable', async () => {
    const cert = await makeCert();
    const other = await makeCert('other');
    const tlsFlags = await files(cert);
    const cases: [string[], RegExp][] = [
      [
        ['--cert', join(dir, 'missing.crt'), '--key', tlsFlags[3]!],
        /cannot read the certificate .*missing\.crt: ENOENT/,
      ],
      [['--cert', tlsFlags[1]!, '--key', join(dir, 'other.key')], /cannot read the key/],
      [[...tlsFlags, '--via', 'hosts'], /--via hosts: no upstream to capture/],
      [[...tlsFlags, '--max-body', 'big'], /--max-body: expected a size/],
      [[...tlsFlags, '--memory', 'lots'], /--memory: expected a quantity/],
      [[...tlsFlags, '--listen', 'nowhere'], /expected host:port/],
      [[], /required option '--cert <file>' not specified/],
    ];
    await writeFile(join(dir, 'other.crt'), other.cert);
    cases.push([
      ['--cert', join(dir, 'other.crt'), '--key', tlsFlags[3]!],
      /are not a usable certificate and key/,
    ]);
    const results = await Promise.all(
      cases.map(([args]) => run(process.execPath, [MAIN, 'webhook', '--listen', '127.0.0.1:0', ...args])),
    );
    for (const [i, [args, message]] of cases.entries()) {
      const res = results[i]!;
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toMatch(message);
    }
  }, 60_000);

  it('exits 1 when the address is taken', async () => {
    const cert = await makeCert();
    const first = await start(await files(cert));
    const res = await run(process.execPath, [
      MAIN,
      'webhook',
      ...(await files(cert)),
      '--listen',
      `127.0.0.1:${first.port}`,
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  });
});
