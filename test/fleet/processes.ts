import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import type { BreakerSnapshot } from '../../src/breaker/index.ts';
import type { FleetView } from '../../src/fleet/index.ts';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { groupName } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** The built CLI: these tests run real `breakwater run` processes (`npm test` builds first). */
export const MAIN = join(ROOT, 'dist', 'main.js');
/** A sidecar process on a loaded 2-core machine may take this long to listen. */
const START_TIMEOUT_MS = 30_000;

export type LogLine = Record<string, unknown> & { msg?: string; time?: string };

/** One `breakwater run` process of a fleet. */
export interface PodProcess {
  readonly name: string;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly healthUrl: string;
  readonly child: ChildProcess;
  /** Every JSON log line so far. */
  logs(): LogLine[];
  /** Sends `signal` (SIGKILL: a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Policy files of one test, removed at the end. */
export class PolicyDir {
  readonly #dir: Promise<string> = mkdtemp(join(tmpdir(), 'bw-fleet-'));

  async write(name: string, text: string): Promise<string> {
    const file = join(await this.#dir, `${name}.yaml`);
    await writeFile(file, text);
    return file;
  }

  async remove(): Promise<void> {
    await rm(await this.#dir, { recursive: true, force: true });
  }
}

/** Starts `breakwater run` with `POD_NAME=name`; resolves once it logs its listening addresses. */
export async function spawnPod(name: string, policyFile: string): Promise<PodProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const child = spawn(process.execPath, [MAIN, 'run', '--config', policyFile], {
    cwd: ROOT,
    env: { ...process.env, POD_NAME: name, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let partial = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const listening = new Promise<LogLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${stderr}`)), START_TIMEOUT_MS);
    void exited.then(() => reject(new Error(`${name} exited: ${stderr}`)));
    child.stdout.on('data', (c: Buffer) => {
      partial += c.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const text of parts) {
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          continue;
        }
        lines.push(line);
        if (line.msg === 'breakwater listening') {
          clearTimeout(timer);
          resolve(line);
        }
      }
    });
  });
  let ready: LogLine;
  try {
    ready = await listening;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const url = (hostPort: unknown): string => `http://${String(hostPort)}`;
  return {
    name,
    proxyUrl: url((ready.proxy as string[])[0]),
    adminUrl: url(ready.admin),
    healthUrl: url(ready.health),
    child,
    logs: () => lines,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Starts `n` pods named `pod-0`…, each with the policy `policyOf(i)`, all at once. */
export async function spawnFleet(
  dir: PolicyDir,
  n: number,
  policyOf: (i: number) => string,
): Promise<PodProcess[]> {
  const files = await Promise.all(Array.from({ length: n }, (_, i) => dir.write(`pod-${i}`, policyOf(i))));
  const started = await Promise.allSettled(files.map((f, i) => spawnPod(`pod-${i}`, f)));
  const pods = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(pods.map((p) => p.kill('SIGKILL')));
    throw failed.reason;
  }
  return pods;
}

/** The policy of a fleet test: MAX then Ollama then the degraded answer, short timeouts. */
export interface FleetPolicyOptions {
  readonly max: string;
  readonly ollama: string;
  readonly redis: string;
  readonly group: string;
  readonly firstByte?: string;
  readonly recovery?: string;
  readonly fleetMaxConcurrent?: number;
  /** `fleet.commandTimeout` (default 500ms: generous on a loaded machine). */
  readonly commandTimeout?: string;
  /** Chain of the route `chat` (default: max-gpu, ollama-cpu, degraded). */
  readonly routes?: string;
}

export function fleetPolicyYaml(o: FleetPolicyOptions): string {
  return `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu:
    url: ${o.max}
    timeout: { firstByte: ${o.firstByte ?? '1s'}, idle: 5s }
    breaker: { failureThreshold: 3, recoveryTimeout: ${o.recovery ?? '60s'}, successThreshold: 2, jitter: 0 }
  ollama-cpu:
    url: ${o.ollama}
    timeout: { firstByte: 5s, idle: 5s }
    fleetMaxConcurrent: ${o.fleetMaxConcurrent ?? 'null'}
routes:
${
  o.routes ??
  `  - name: chat
    match: { pathPrefix: / }
    chain:
      - upstream: max-gpu
      - upstream: ollama-cpu
        models: { "*": "llama3.1:8b" }
      - degraded: {}`
}
shutdown: { drainDelay: 0s, quietPeriod: 0s, timeout: 2s }
fleet:
  redis: ${o.redis}
  group: ${o.group}
  quorum: 2
  window: 30s
  heartbeat: 250ms
  leaseTtl: 1s
  commandTimeout: ${o.commandTimeout ?? '500ms'}
`;
}

/** One answer of the load. */
export interface Answer {
  readonly pod: string;
  readonly status: number;
  readonly tier: string | null;
  readonly skipped: string | null;
  readonly ms: number;
}

/** POSTs one chat completion to a pod's proxy (`path` default the OpenAI chat path). */
export async function chat(pod: PodProcess, path = '/v1/chat/completions'): Promise<Answer> {
  const started = performance.now();
  const body = path.startsWith('/api/')
    ? { model: 'llama3.1:8b', messages: [{ role: 'user', content: 'Hello' }], stream: false }
    : { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Hello' }] };
  const res = await fetch(pod.proxyUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return {
    pod: pod.name,
    status: res.status,
    tier: res.headers.get('x-breakwater-tier'),
    skipped: res.headers.get('x-breakwater-skipped'),
    ms: performance.now() - started,
  };
}

/**
 * `requests` calls from `concurrency` clients, each going round the pods from its own starting
 * pod (traffic spread over all pods), one call at a time.
 */
export async function load(
  pods: readonly PodProcess[],
  requests: number,
  concurrency: number,
  path?: string,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  const client = async (w: number): Promise<void> => {
    for (let k = 0; next < requests; k++) {
      next++;
      answers.push(await chat(pods[(w + k) % pods.length]!, path));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => client(w)));
  return answers;
}

/** A pod's breaker snapshot from its admin API. */
export async function breakerOf(pod: PodProcess, name: string): Promise<BreakerSnapshot> {
  const r = await fetch(`${pod.adminUrl}/circuit-breakers/${name}`);
  return ((await r.json()) as { circuit_breakers: Record<string, BreakerSnapshot> }).circuit_breakers[name]!;
}

/** `GET /fleet` of a pod. */
export async function fleetOf(pod: PodProcess): Promise<FleetView> {
  return (await (await fetch(`${pod.adminUrl}/fleet`)).json()) as FleetView;
}

/** Log lines of a pod's breaker transitions of one upstream (`breaker max-gpu open -> half_open`). */
export function transitions(
  pod: PodProcess,
  breaker: string,
): { from: string; to: string; reason: string; atMs: number }[] {
  return pod
    .logs()
    .filter((l) => l.breaker === breaker && typeof l.from === 'string')
    .map((l) => ({
      from: l.from as string,
      to: l.to as string,
      reason: String(l.reason),
      atMs: Date.parse(String(l.time)),
    }));
}

/** The `p`-th percentile (0–100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Pods of the fleet tests. */
export const PODS = 6;

/**
 * What one test starts and stops: `PODS` sidecars, each with its own mock MAX (so each pod's calls
 * are counted apart), one mock Ollama shared by all (as a Deployment's pods share it), a group of
 * its own on the shared Redis. `close()` kills what is left and removes the policy files.
 */
export class FleetHarness {
  readonly redisUrl: string;
  readonly group = groupName();
  readonly dir = new PolicyDir();
  pods: PodProcess[] = [];
  maxes: MockServer[] = [];
  ollama: MockServer | null = null;
  readonly #mocks: MockServer[] = [];
  #options: Partial<FleetPolicyOptions> = {};

  constructor(redisUrl: string) {
    this.redisUrl = redisUrl;
  }

  async mock(kind: 'max' | 'ollama'): Promise<MockServer> {
    const m = await startMock({ kind });
    this.#mocks.push(m);
    return m;
  }

  /** The policy of pod `i` (its own MAX unless `max` is given). */
  policyOf(i: number, max?: string): string {
    return fleetPolicyYaml({
      max: max ?? this.maxes[i]!.url,
      ollama: this.ollama!.url,
      redis: this.redisUrl,
      group: this.group,
      ...this.#options,
    });
  }

  /** Starts the mocks and `PODS` pods; `maxFor(i)` may give a pod another MAX URL. */
  async start(
    options: Partial<FleetPolicyOptions> = {},
    maxFor?: (i: number) => string | undefined,
  ): Promise<PodProcess[]> {
    this.#options = options;
    this.maxes = await Promise.all(Array.from({ length: PODS }, () => this.mock('max')));
    this.ollama = await this.mock('ollama');
    this.pods = await spawnFleet(this.dir, PODS, (i) => this.policyOf(i, maxFor?.(i)));
    return this.pods;
  }

  /** Starts one more pod named `name` against `max`. */
  async add(name: string, max: string): Promise<PodProcess> {
    const pod = await spawnPod(name, await this.dir.write(name, this.policyOf(0, max)));
    this.pods.push(pod);
    return pod;
  }

  /** Calls the pods' MAX mocks received. */
  received(maxes: readonly MockServer[] = this.maxes): number {
    return maxes.reduce((n, m) => n + m.stats().requests, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.pods.map((p) => p.kill('SIGKILL')));
    await Promise.all(this.#mocks.map((m) => m.close()));
    await this.dir.remove();
  }
}

/** Waits (polling each pod's admin API, bounded) until every pod's `max-gpu` is in `state`. */
export async function everyPod(list: readonly PodProcess[], state: string, timeout = 20_000): Promise<void> {
  await vi.waitFor(
    async () => {
      const states = await Promise.all(list.map(async (p) => (await breakerOf(p, 'max-gpu')).state));
      expect(states).toEqual(list.map(() => state));
    },
    { timeout, interval: 50 },
  );
}
