/**
 * Memory while holding many concurrent streams (docs/design.md#budgets: RSS ≤ 160 MiB holding 1000 streams).
 * Starts a mock MAX in this process streaming slowly, breakwater as a child process, opens N
 * streams at once through it and samples the child's RSS while all are open.
 *
 *   npm run build && node bench/streams.ts [N]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startMock } from '../src/mock/index.ts';

const ROOT = join(import.meta.dirname, '..');
const N = Number(process.argv[2] ?? 1000);

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bw-streams-'));
  // 8 events 700 ms apart: every stream stays open ~5 s, long enough to open all N.
  const max = await startMock({ kind: 'max', streamChunks: 8, chunkDelayMs: 700 });
  const policy = join(dir, 'policy.yaml');
  await writeFile(
    policy,
    `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }\nupstreams:\n  max-gpu: { url: "${max.url}", maxConcurrent: ${N * 2}, timeout: { firstByte: 10s, idle: 10s } }\n`,
  );
  const child = spawn(
    process.execPath,
    [join(ROOT, 'dist', 'main.js'), 'run', '--config', policy, '--log-level', 'info'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (c: Buffer) => {
        buf += c.toString();
        const m = /"proxy":\["[^"]*:(\d+)"\]/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`breakwater exited ${code}`)));
    });
    const idle = await rssMiB(child.pid!);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: N });
    let opened = 0;
    let ok = 0;
    let peak = idle;
    const sampler = setInterval(() => {
      void rssMiB(child.pid!).then((r) => (peak = Math.max(peak, r)));
    }, 100);
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    await Promise.all(
      Array.from({ length: N }, async () => {
        const res = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        opened++;
        let text = '';
        for await (const c of res.body) text += (c as Buffer).toString();
        if (res.statusCode === 200 && text.includes('[DONE]')) ok++;
      }),
    );
    clearInterval(sampler);
    await pool.close();
    process.stdout.write(
      `streams: ${N} opened, ${opened} answered, ${ok} ended with [DONE]\nbreakwater RSS: idle ${idle.toFixed(1)} MiB, peak while holding them ${peak.toFixed(1)} MiB\n`,
    );
  } finally {
    child.kill('SIGTERM');
    await max.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
