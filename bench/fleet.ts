/**
 * Fleet mode benchmark (docs/fleet.md): 20 `breakwater run` sidecars share one MAX and one small
 * CPU Ollama. MAX hangs from t=0 for 30 s (first-token timeouts), then heals. The same run with
 * fleet mode off and on; prints a table (docs/fleet.md, README).
 *
 *   npm run build && node bench/fleet.ts [--pods 20] [--seconds 75]
 *
 * Needs Redis: `$REDIS_URL`, or `redis-server` on PATH (started here). Everything runs on
 * 127.0.0.1 and stops by itself. The Ollama here is a CPU server emulation: 4 generations at once,
 * 400 ms each, the rest queued in order, so a swamped queue shows as first-token timeouts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoRedis } from '../src/cli/redis-server.ts';
import { startMock, type MockServer } from '../src/mock/index.ts';

const ROOT = join(import.meta.dirname, '..');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const PODS = arg('--pods', 20);
const RUN_MS = arg('--seconds', 75) * 1000;
const OUTAGE_MS = 30_000;
const CALL_EVERY_MS = 1_000;
const CPU_SLOTS = 4;
const GENERATION_MS = 400;

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

/** The CPU Ollama: OpenAI chat completions, `CPU_SLOTS` at once, the rest queued. */
function cpuOllama(): Promise<{ url: string; peak: () => number; reset: () => void; close: () => void }> {
  let active = 0;
  let inflight = 0;
  let peak = 0;
  const queue: (() => void)[] = [];
  const release = (): void => {
    active--;
    queue.shift()?.();
  };
  const answer = (res: ServerResponse): void => {
    active++;
    setTimeout(() => {
      const body = JSON.stringify({
        id: 'chatcmpl-cpu',
        object: 'chat.completion',
        created: 0,
        model: 'llama3.1:8b',
        choices: [
          { index: 0, message: { role: 'assistant', content: 'Hello from the CPU.' }, finish_reason: 'stop' },
        ],
      });
      if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      release();
    }, GENERATION_MS);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    inflight++;
    peak = Math.max(peak, inflight);
    res.on('close', () => inflight--);
    req.on('end', () => (active < CPU_SLOTS ? answer(res) : queue.push(() => answer(res))));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        peak: () => peak,
        reset: () => (peak = inflight),
        close: () => void server.close(),
      }),
    ),
  );
}

function policy(
  max: string,
  ollama: string,
  fleet: { redis: string; group: string; pod: string } | null,
): string {
  return `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu:
    url: ${max}
  ollama-cpu:
    url: ${ollama}
    maxConcurrent: 4
${fleet ? '    fleetMaxConcurrent: 4\n' : ''}routes:
  - name: chat
    match: { pathPrefix: / }
    chain:
      - upstream: max-gpu
      - upstream: ollama-cpu
      - degraded: {}
shutdown: { drainDelay: 0s, quietPeriod: 0s, timeout: 1s }
${fleet ? `fleet: { redis: "${fleet.redis}", group: ${fleet.group}, podId: ${fleet.pod} }\n` : ''}`;
}

interface Pod {
  readonly name: string;
  readonly proxy: string;
  readonly admin: string;
  readonly logs: Record<string, unknown>[];
}

function startPod(name: string, file: string): Promise<Pod> {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js'), 'run', '--config', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`${name} exited ${code}`)));
    child.stdout.on('data', (c: Buffer) => {
      const parts = (partial + c.toString()).split('\n');
      partial = parts.pop()!;
      for (const text of parts) {
        const line = JSON.parse(text) as Record<string, unknown>;
        logs.push(line);
        if (line.msg !== 'breakwater listening') continue;
        const url = (v: unknown): string => `http://${String(v)}`;
        resolve({ name, proxy: url((line.proxy as string[])[0]), admin: url(line.admin), logs });
      }
    });
  });
}

interface Call {
  readonly startedMs: number;
  readonly ms: number;
  readonly status: number;
  readonly tier: string;
}

async function call(pod: Pod, t0: number): Promise<Call> {
  const started = performance.now();
  try {
    const r = await fetch(`${pod.proxy}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"llama-3.1-8b","messages":[{"role":"user","content":"Hello"}]}',
    });
    await r.arrayBuffer();
    const tier = r.headers.get('x-breakwater-tier') ?? 'none';
    return { startedMs: started - t0, ms: performance.now() - started, status: r.status, tier };
  } catch {
    return { startedMs: started - t0, ms: performance.now() - started, status: 0, tier: 'error' };
  }
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
};

async function closedAt(pods: readonly Pod[], t0: number): Promise<number | null> {
  const states = await Promise.all(
    pods.map(async (p) => {
      const r = (await (await fetch(`${p.admin}/circuit-breakers/max-gpu`)).json()) as {
        circuit_breakers: Record<string, { state: string }>;
      };
      return r.circuit_breakers['max-gpu']!.state;
    }),
  );
  return states.every((s) => s === 'closed') ? performance.now() - t0 : null;
}

/** The sum over every pod of one sample of its admin `/metrics` (0 where absent). */
async function sumMetric(pods: readonly Pod[], sample: string): Promise<number> {
  let sum = 0;
  for (const p of pods) {
    const text = await (await fetch(`${p.admin}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
    sum += line === undefined ? 0 : Number(line.slice(sample.length + 1));
  }
  return sum;
}

async function run(mode: 'off' | 'on', redisUrl: string): Promise<Record<string, string>> {
  const max: MockServer = await startMock({ kind: 'max' });
  const ollama = await cpuOllama();
  const dir = await mkdtemp(join(tmpdir(), 'bw-bench-fleet-'));
  const group = `bench-${randomUUID().slice(0, 8)}`;
  const files = await Promise.all(
    Array.from({ length: PODS }, (_, i) => {
      const fleet = mode === 'on' ? { redis: redisUrl, group, pod: `pod-${i}` } : null;
      const file = join(dir, `pod-${i}.yaml`);
      return writeFile(file, policy(max.url, ollama.url, fleet)).then(() => file);
    }),
  );
  const pods = await Promise.all(files.map((f, i) => startPod(`pod-${i}`, f)));
  await max.setFault({ mode: 'hang' });
  max.resetStats();
  ollama.reset();
  const t0 = performance.now();
  const calls: Promise<Call>[] = [];
  const timers = pods.map((pod, i) =>
    setTimeout(
      () => {
        calls.push(call(pod, t0));
        const every = setInterval(() => {
          if (performance.now() - t0 < RUN_MS) calls.push(call(pod, t0));
          else clearInterval(every);
        }, CALL_EVERY_MS);
      },
      (i * CALL_EVERY_MS) / PODS,
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  const deadCalls = max.stats().requests;
  await max.clearFault();
  let allClosed: number | null = null;
  while (performance.now() - t0 < RUN_MS) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    allClosed ??= await closedAt(pods, t0);
  }
  timers.forEach((t) => clearTimeout(t));
  const done = await Promise.all(calls);
  const outage = done.filter((c) => c.startedMs < OUTAGE_MS);
  const healedWall = Date.now() - (performance.now() - t0 - OUTAGE_MS);
  let probers = 0;
  let trials = 0;
  for (const p of pods) {
    const after = p.logs.filter((l) => l.breaker === 'max-gpu' && Date.parse(String(l.time)) >= healedWall);
    const half = after.filter((l) => l.to === 'half_open').length;
    if (half > 0) probers++;
    trials += after
      .filter((l) => l.from === 'half_open')
      .reduce((n, l) => n + (l.to === 'closed' ? 2 : 1), 0);
  }
  const budgetTimeouts =
    mode === 'on' ? await sumMetric(pods, 'breakwater_fleet_store_errors_total{op="budget"}') : 0;
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await max.close();
  ollama.close();
  await rm(dir, { recursive: true, force: true });
  const degraded = (cs: Call[]): number => cs.filter((c) => c.tier === 'degraded').length;
  return {
    'calls that reached the dead MAX (0–30 s)': String(deadCalls),
    'user-visible p50 / p99, calls started 0–30 s': `${(
      pct(
        outage.map((c) => c.ms),
        50,
      ) / 1000
    ).toFixed(2)} s / ${(
      pct(
        outage.map((c) => c.ms),
        99,
      ) / 1000
    ).toFixed(2)} s`,
    'pods that probed the recovering MAX / trial calls': `${probers} / ${trials}`,
    'peak calls in flight at the CPU Ollama (4 slots)': String(ollama.peak()),
    'degraded answers, 0–30 s / whole run': `${degraded(outage)} of ${outage.length} / ${degraded(done)} of ${done.length}`,
    'budget round trips past fleet.commandTimeout (the pod fell back to its local limit)':
      mode === 'on' ? String(budgetTimeouts) : '-',
    'failed calls (no answer)': String(done.filter((c) => c.status !== 200).length),
    'every pod closed again, after MAX healed':
      allClosed === null ? 'not within the run' : `${((allClosed - OUTAGE_MS) / 1000).toFixed(1)} s`,
  };
}

const redis = await demoRedis(process.env);
try {
  const off = await run('off', redis.url);
  const on = await run('on', redis.url);
  console.log(
    `\n${PODS} sidecars, 1 call/s each, MAX hanging for 30 s then healed, ${RUN_MS / 1000} s per run\n`,
  );
  console.log('| | fleet mode off | fleet mode on |\n|---|---|---|');
  for (const key of Object.keys(off)) console.log(`| ${key} | ${off[key]} | ${on[key]} |`);
} finally {
  redis.stop();
}
