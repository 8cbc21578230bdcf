/**
 * breakwater benchmark: the same load against a direct connection to the upstream, nginx (when
 * installed) and breakwater, in one run, with ratios. See docs/benchmarks.md.
 *
 *   npm run build && node bench/run.ts [--quick] [--rounds N]
 *
 * `--rounds N` measures every target N times, rotating the order of targets each round and
 * reversing it every other round, and prints the median of each figure: on a small machine the
 * target measured first pays for the others' warm-up and the OS's scheduling, and the one measured
 * right after another's throughput phase for what that left behind (a control run with two slots
 * on the same build showed it), which a single pass cannot separate from the code. Each target
 * starts after a short pause (SETTLE_MS).
 *
 * Beside breakwater it runs `bw-no-cache` (the same with no cache tier in the chain: the difference
 * in CPU per request is what the cache tier costs) and, when BENCH_COMPARE_DIST names another
 * build's `dist/` (with a package.json beside it), `bw-compare` from that build, in the same run.
 *
 * Everything runs on 127.0.0.1 and stops by itself. Throughput uses `wrk` when installed
 * (Debian: `apt-get install wrk`), else a Node load loop (slower; ratios still comparable).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { firstLine } from './child-output.ts';

const ROOT = join(import.meta.dirname, '..');
const QUICK = process.argv.includes('--quick');
const LAT_N = QUICK ? 500 : 3000;
const TP_SECONDS = QUICK ? 3 : 8;
const CONC = 50;
const ROUNDS = Math.max(1, Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 1);
/** Pause before each target: the previous one's load (its upstream's GC, the sockets it closed) settles. */
const SETTLE_MS = 2_000;

const CHAT = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }] });
const CHAT_STREAM = JSON.stringify({
  model: 'bench',
  messages: [{ role: 'user', content: 'hello' }],
  stream: true,
});

const children: ChildProcess[] = [];
function track(c: ChildProcess): ChildProcess {
  children.push(c);
  return c;
}
function stopAll(): void {
  for (const c of children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGTERM');
}
process.on('exit', stopAll);

/** A free port, for nginx only (it cannot report the port it picked): bind 0, read, close. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latency(url: string, body: string, stream: boolean): Promise<{ p50: number; p99: number }> {
  const pool = new Pool(url, { connections: 1 });
  const samples: number[] = [];
  try {
    for (let i = 0; i < LAT_N + 200; i++) {
      const t0 = process.hrtime.bigint();
      const res = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      let first = 0n;
      for await (const chunk of res.body) {
        if (first === 0n && (chunk as Buffer).length > 0) first = process.hrtime.bigint();
      }
      const t = stream ? first : process.hrtime.bigint();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode} from ${url}`);
      if (i >= 200) samples.push(Number(t - t0) / 1000);
    }
  } finally {
    await pool.close();
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function throughputWrk(url: string, body: string, dir: string): Promise<number> {
  const script = join(dir, `post-${body.length}.lua`);
  await writeFile(
    script,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["content-type"] = "application/json"\n`,
  );
  const out = await new Promise<string>((resolve, reject) => {
    const c = track(
      spawn('wrk', ['-t1', `-c${CONC}`, `-d${TP_SECONDS}s`, '-s', script, `${url}/v1/chat/completions`]),
    );
    let text = '';
    c.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    c.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}`))));
  });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (non2xx) throw new Error(`${non2xx[1]} non-2xx answers from ${url}`);
  return m ? Number(m[1]) : 0;
}

async function throughputNode(url: string, body: string): Promise<number> {
  const pool = new Pool(url, { connections: CONC });
  let done = 0;
  const until = Date.now() + TP_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (Date.now() < until) {
        const res = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.body.dump();
        done++;
      }
    }),
  );
  await pool.close();
  return done / TP_SECONDS;
}

const which = (bin: string): boolean =>
  (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, bin))) || existsSync(`/usr/sbin/${bin}`);

/** CPU time (user + system) of a process and its children (nginx workers), in ms. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  for (const c of children.trim().split(' ').filter(Boolean)) ticks += (await cpuMs(Number(c))) / 10;
  return ticks * 10; // USER_HZ is 100 on Linux
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** Starts `breakwater run` from a build's `dist/`; resolves with the child and its proxy port. */
async function startBreakwater(dist: string, policy: string): Promise<[ChildProcess, number]> {
  const child = track(
    spawn(process.execPath, [join(dist, 'main.js'), 'run', '--config', policy, '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const port = await firstLine(child, (l) => {
    const rec = JSON.parse(l) as { msg?: string; proxy?: string[] };
    return rec.msg === 'breakwater listening' ? Number(rec.proxy![0]!.split(':').pop()) : null;
  });
  return [child, port];
}

/** One target's figures: latency, first byte, throughput and the proxy's CPU per request. */
async function measure(
  url: string,
  pid: number,
  useWrk: boolean,
  dir: string,
): Promise<Record<string, number>> {
  const lat = await latency(url, CHAT, false);
  const fb = await latency(url, CHAT_STREAM, true);
  const cpu0 = pid === 0 ? 0 : await cpuMs(pid);
  const tpJson = useWrk ? await throughputWrk(url, CHAT, dir) : await throughputNode(url, CHAT);
  const cpu1 = pid === 0 ? 0 : await cpuMs(pid);
  const tpSse = useWrk ? await throughputWrk(url, CHAT_STREAM, dir) : await throughputNode(url, CHAT_STREAM);
  const cpu2 = pid === 0 ? 0 : await cpuMs(pid);
  return {
    p50: lat.p50,
    p99: lat.p99,
    fb50: fb.p50,
    fb99: fb.p99,
    tpJson,
    tpSse,
    // Proxy CPU per request: steadier than req/s on a 2-core machine shared with the load
    // generator and the upstream.
    cpuJson: ((cpu1 - cpu0) * 1000) / (tpJson * TP_SECONDS),
    cpuSse: ((cpu2 - cpu1) * 1000) / (tpSse * TP_SECONDS),
  };
}

/** The median of each figure over the rounds. */
function medians(runs: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(runs[0]!)) {
    const v = runs.map((r) => r[key]!).sort((a, b) => a - b);
    out[key] = v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  }
  return out;
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('run `npm run build` first');
  const dir = await mkdtemp(join(tmpdir(), 'bw-bench-'));
  try {
    const up = track(
      spawn(process.execPath, [join(ROOT, 'bench', 'upstream.ts')], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    const upPort = await firstLine(up, (l) =>
      l.startsWith('{') ? (JSON.parse(l) as { port: number }).port : null,
    );
    const direct = `http://127.0.0.1:${upPort}`;

    const policy = join(dir, 'policy.yaml');
    await writeFile(
      policy,
      `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }\nupstreams:\n  max-gpu: { url: "${direct}", maxConcurrent: 1000 }\ncache: { backend: memory }\n`,
    );
    const noCache = join(dir, 'policy-no-cache.yaml');
    await writeFile(
      noCache,
      `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }\nupstreams:\n  max-gpu: { url: "${direct}", maxConcurrent: 1000 }\nroutes:\n  - { name: default, match: { pathPrefix: / }, chain: [ { upstream: max-gpu }, { degraded: {} } ] }\n`,
    );
    const t0 = Date.now();
    const [bw, bwPort] = await startBreakwater(join(ROOT, 'dist'), policy);
    const readyMs = Date.now() - t0;
    const idleRss = await rssKiB(bw.pid!);
    const bare = track(
      spawn(process.execPath, [join(ROOT, 'bench', 'bare-proxy.ts'), direct], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const barePort = await firstLine(bare, (l) =>
      l.startsWith('{') ? (JSON.parse(l) as { port: number }).port : null,
    );
    /** name, URL, and the PID whose CPU is the proxy's (0 for the direct connection). */
    const targets: [string, string, number][] = [
      ['direct', direct, 0],
      ['bare-undici', `http://127.0.0.1:${barePort}`, bare.pid!],
      ['breakwater', `http://127.0.0.1:${bwPort}`, bw.pid!],
    ];
    const [nc, ncPort] = await startBreakwater(join(ROOT, 'dist'), noCache);
    targets.push(['bw-no-cache', `http://127.0.0.1:${ncPort}`, nc.pid!]);
    const compare = process.env.BENCH_COMPARE_DIST;
    if (compare !== undefined && compare !== '') {
      const [cmp, cmpPort] = await startBreakwater(compare, policy);
      targets.push(['bw-compare', `http://127.0.0.1:${cmpPort}`, cmp.pid!]);
    }

    if (which('nginx')) {
      const port = await freePort();
      await writeFile(
        join(dir, 'nginx.conf'),
        `worker_processes 1;\nerror_log ${dir}/nginx-error.log;\npid ${dir}/nginx.pid;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;\n  upstream up { server 127.0.0.1:${upPort}; keepalive 64; }\n  server {\n    listen 127.0.0.1:${port};\n    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }\n  }\n}\n`,
      );
      const ngx = track(
        spawn(
          which('nginx') && existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx',
          ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'],
          { stdio: 'inherit' },
        ),
      );
      for (let i = 0; i < 100; i++) {
        try {
          const p = new Pool(`http://127.0.0.1:${port}`);
          await (await p.request({ path: '/health', method: 'GET' })).body.dump();
          await p.close();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      targets.splice(1, 0, ['nginx', `http://127.0.0.1:${port}`, ngx.pid!]);
    } else {
      process.stdout.write('nginx not installed: skipping it (apt-get install nginx)\n');
    }

    const useWrk = which('wrk');
    process.stdout.write(
      `load: latency ${LAT_N} sequential calls; throughput ${CONC} connections × ${TP_SECONDS}s via ${useWrk ? 'wrk' : 'a Node loop'}; ${ROUNDS} round(s), medians\n\n`,
    );
    const samples: Record<string, Record<string, number>[]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const k = round % targets.length;
      const order = [...targets.slice(k), ...targets.slice(0, k)];
      // Reversed every other round, so no target always follows the same one.
      if (round % 2 === 1) order.reverse();
      if (ROUNDS > 1)
        process.stdout.write(`round ${round + 1}/${ROUNDS}: ${order.map((t) => t[0]).join(', ')}\n`);
      for (const [name, url, pid] of order) {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        (samples[name] ??= []).push(await measure(url, pid, useWrk, dir));
      }
    }
    const rows: Record<string, Record<string, number>> = {};
    for (const [name] of targets) rows[name] = medians(samples[name]!);
    const d = rows.direct!;
    const fmt = (n: number, w = 9): string => n.toFixed(0).padStart(w);
    process.stdout.write(
      'target         p50 µs   p99 µs  +p50 µs  +p99 µs  1st-byte p50  +1st-byte  JSON req/s  ×direct  cpu µs/req  SSE req/s  ×direct  cpu µs/req\n',
    );
    const cpu = (n: number): string => (n > 0 ? n.toFixed(1).padStart(12) : '           -');
    for (const [name, r] of Object.entries(rows)) {
      process.stdout.write(
        `${name.padEnd(12)}${fmt(r.p50!)}${fmt(r.p99!)}${fmt(r.p50! - d.p50!)}${fmt(r.p99! - d.p99!)}${fmt(r.fb50!, 14)}${fmt(r.fb50! - d.fb50!, 11)}${fmt(r.tpJson!, 12)}${(r.tpJson! / d.tpJson!).toFixed(2).padStart(9)}${cpu(r.cpuJson!)}${fmt(r.tpSse!, 11)}${(r.tpSse! / d.tpSse!).toFixed(2).padStart(9)}${cpu(r.cpuSse!)}\n`,
      );
    }
    const b = rows['bare-undici']!;
    const w = rows.breakwater!;
    const n = rows['bw-no-cache']!;
    const ratio = (x: number, y: number): string => (x / y).toFixed(2);
    process.stdout.write(
      `\nbreakwater against the bare proxy, same run: CPU/req JSON ×${ratio(w.cpuJson!, b.cpuJson!)}, SSE ×${ratio(w.cpuSse!, b.cpuSse!)}; ` +
        `req/s JSON ×${ratio(w.tpJson!, b.tpJson!)} (×${ratio(w.tpJson!, d.tpJson!)} direct), SSE ×${ratio(w.tpSse!, b.tpSse!)}; ` +
        `p50 ${(w.p50! - b.p50!).toFixed(0)} µs over the bare proxy's; ` +
        `cache tier CPU/req JSON ${(w.cpuJson! - n.cpuJson!).toFixed(1)} µs, SSE ${(w.cpuSse! - n.cpuSse!).toFixed(1)} µs\n`,
    );
    const busyRss = await rssKiB(bw.pid!);
    process.stdout.write(
      `\nbreakwater: listening ${readyMs} ms after spawn; RSS idle ${(idleRss / 1024).toFixed(1)} MiB, after load ${(busyRss / 1024).toFixed(1)} MiB\n`,
    );
  } finally {
    stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).message}\n`);
    stopAll();
    process.exit(1);
  },
);
