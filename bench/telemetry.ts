/**
 * Cost of telemetry: idle RSS and CPU per request of `breakwater run` with tracing off and on,
 * optionally against another build (`--baseline DIST`, e.g. a build of the commit before the
 * LLM telemetry) to show that tracing off costs nothing more. docs/operations.md#llm-telemetry.
 *
 *   npm run build && node bench/telemetry.ts [--requests 3000] [--baseline /tmp/bw-main/dist]
 *
 * Everything runs on 127.0.0.1 (a mock MAX, an OTLP sink that accepts and drops spans) and stops.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';

const ROOT = join(import.meta.dirname, '..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const REQUESTS = Number(arg('--requests') ?? 3000);
const BASELINE = arg('--baseline');
const CONC = 20;
const TICKS_PER_SECOND = 100;
const CHAT = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }] });

const { startMock } = (await import(
  join(ROOT, 'dist/mock/index.js')
)) as typeof import('../src/mock/index.ts');

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function run(label: string, dist: string, telemetry: string): Promise<void> {
  const max = await startMock({ kind: 'max' });
  const dir = await mkdtemp(join(tmpdir(), 'bw-bench-tel-'));
  const file = join(dir, 'policy.yaml');
  await writeFile(
    file,
    `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }\nupstreams:\n  max-gpu: { url: "${max.url}" }\n${telemetry}`,
  );
  const child = spawn(process.execPath, [join(dist, 'main.js'), 'run', '--config', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"proxy":\["127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`${label}: exited\n${out}`)));
  });
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONC });
  const call = async (): Promise<void> => {
    const r = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      body: CHAT,
      headers: { 'content-type': 'application/json' },
    });
    await r.body.text();
  };
  await new Promise((r) => setTimeout(r, 1500));
  const idle = rssKiB(child.pid!); // started, no request yet
  for (let i = 0; i < 200; i++) await call(); // warm-up
  await new Promise((r) => setTimeout(r, 1500));
  const warm = rssKiB(child.pid!);
  const before = cpuTicks(child.pid!);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next++ < REQUESTS) await call();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpuUs = ((cpuTicks(child.pid!) - before) / TICKS_PER_SECOND / REQUESTS) * 1e6;
  const after = rssKiB(child.pid!);
  console.log(
    `${label.padEnd(22)} idle RSS ${(idle / 1024).toFixed(1)} MiB  warm ${(warm / 1024).toFixed(1)} MiB  after load ${(after / 1024).toFixed(1)} MiB  ` +
      `CPU ${cpuUs.toFixed(0)} µs/request  ${(REQUESTS / seconds).toFixed(0)} req/s`,
  );
  await pool.close();
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  await max.close();
  await rm(dir, { recursive: true, force: true });
}

const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkPort = (sink.address() as { port: number }).port;

if (BASELINE !== undefined) await run('baseline build', BASELINE, '');
await run('tracing off', join(ROOT, 'dist'), '');
await run(
  'tracing on',
  join(ROOT, 'dist'),
  `telemetry: { otlp: { endpoint: "http://127.0.0.1:${sinkPort}" } }\n`,
);
if (BASELINE !== undefined) await run('baseline build (again)', BASELINE, '');
sink.close();
