/**
 * CPU profile of breakwater under load: starts `bench/upstream.ts` and `breakwater run` with
 * `--cpu-prof`, drives it with wrk (JSON or 20-event SSE), stops it with SIGTERM so the profile is
 * written, and prints the top frames by self time. See docs/benchmarks.md.
 *
 *   npm run build && node bench/profile.ts [json|sse] [SECONDS] [DIST_DIR|bare]
 *
 * `bare` profiles `bench/bare-proxy.ts` under the same load instead, for the same breakdown of
 * what a proxy on undici costs with nothing else. After the top frames it prints self time by
 * component: breakwater's own code, undici, prom-client, other packages, Node's internals, the
 * garbage collector, idle.
 *
 * Everything runs on 127.0.0.1 and stops by itself; needs `wrk` (Debian: `apt-get install wrk`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstJsonLine } from './child-output.ts';

const ROOT = join(import.meta.dirname, '..');
const MODE = process.argv[2] === 'sse' ? 'sse' : 'json';
const SECONDS = Number(process.argv[3] ?? 8);
const DIST = process.argv[4] ?? join(ROOT, 'dist');
const BARE = DIST === 'bare';
const TOP = 25;

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args);
    children.push(c);
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/** Self time by frame (`function file:line`), as a share of all samples. */
function topFrames(p: Profile): [string, number][] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of p.samples) {
    const f = byId.get(id)!.callFrame;
    const file = f.url.replace(/^.*\/(node_modules\/|dist\/|node:)/, '$1');
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = p.samples.length;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([k, n]) => [k, (100 * n) / total]);
}

/** Self time by component, as a share of all samples. */
function components(p: Profile): [string, number][] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of p.samples) {
    const f = byId.get(id)!.callFrame;
    const c = componentOf(f.url, f.functionName);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, (100 * n) / p.samples.length]);
}

function componentOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : 'native (writev, regexps, …)';
  if (url.includes('/node_modules/undici/')) return 'undici';
  if (url.includes('/node_modules/prom-client/')) return 'prom-client';
  if (url.includes('/node_modules/')) return 'other packages';
  if (url.startsWith('node:')) return 'node internals';
  return BARE ? 'bare proxy' : 'breakwater';
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bw-prof-'));
  try {
    const up = spawn(process.execPath, [join(ROOT, 'bench', 'upstream.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(up);
    const upPort = await firstJsonLine(up, (r) => (typeof r.port === 'number' ? r.port : null));
    const policy = join(dir, 'policy.yaml');
    await writeFile(
      policy,
      `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }\nupstreams:\n  max-gpu: { url: "http://127.0.0.1:${upPort}", maxConcurrent: 1000 }\ncache: { backend: memory }\nshutdown: { drainDelay: 0s, quietPeriod: 0s }\n`,
    );
    const args = BARE
      ? [join(ROOT, 'bench', 'bare-proxy.ts'), `http://127.0.0.1:${upPort}`]
      : [join(DIST, 'main.js'), 'run', '--config', policy];
    const bw = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(bw);
    const port = await firstJsonLine(bw, (r) => {
      if (BARE) return typeof r.port === 'number' ? r.port : null;
      return r.msg === 'breakwater listening' ? Number((r.proxy as string[])[0]!.split(':').pop()) : null;
    });
    const body = JSON.stringify({
      model: 'bench',
      messages: [{ role: 'user', content: 'hello' }],
      ...(MODE === 'sse' ? { stream: true } : {}),
    });
    const script = join(dir, 'post.lua');
    await writeFile(
      script,
      `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["content-type"] = "application/json"\n`,
    );
    const url = `http://127.0.0.1:${port}/v1/chat/completions`;
    await run('wrk', ['-t1', '-c50', '-d2s', '-s', script, url]);
    const out = await run('wrk', ['-t1', '-c50', `-d${SECONDS}s`, '-s', script, url]);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? '?';
    await new Promise<void>((resolve) => {
      bw.on('exit', () => resolve());
      bw.kill('SIGTERM');
    });
    up.kill('SIGTERM');
    const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('no profile written');
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as Profile;
    // BENCH_PROFILE_OUT=file.cpuprofile keeps the profile (Chrome DevTools → Performance opens it).
    const keep = process.env.BENCH_PROFILE_OUT;
    if (keep !== undefined && keep !== '') await writeFile(keep, JSON.stringify(profile));
    process.stdout.write(`${MODE}: ${rps} req/s over ${SECONDS}s (wrk -c50, with warm-up), ${DIST}\n`);
    process.stdout.write('self %  frame\n');
    for (const [frame, pct] of topFrames(profile)) {
      process.stdout.write(`${pct.toFixed(1).padStart(6)}  ${frame}\n`);
    }
    process.stdout.write('\nself %  component\n');
    for (const [c, pct] of components(profile)) process.stdout.write(`${pct.toFixed(1).padStart(6)}  ${c}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`profile failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
