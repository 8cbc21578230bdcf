import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultSpec, MockConfig, MockStats } from '../../src/mock/index.ts';
import { httpOf, spawnBreakwater, type LoggedChild, type LogLine } from './process.ts';

/** How long a child may take to start or stop on a loaded 2-core machine before the suite gives up. */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

/** Rejects after `ms` with `what` in the message; the timer never holds the process open. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function controlCall(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${base}${path}: ${res.status} ${text}`);
  return text === '' ? null : (JSON.parse(text) as unknown);
}

/** A `breakwater mock max|ollama` child process, steered through its control port (docs/mock.md). */
export interface MockProcess {
  readonly kind: 'max' | 'ollama';
  readonly url: string;
  readonly controlUrl: string;
  readonly child: LoggedChild;
  setFault(fault: FaultSpec): Promise<void>;
  clearFault(): Promise<void>;
  /** The active fault; `count` is what remains of a count-limited one. */
  fault(): Promise<FaultSpec>;
  stats(): Promise<MockStats>;
  resetStats(): Promise<void>;
  configure(patch: Partial<MockConfig>): Promise<void>;
  /** SIGTERM, then waits for the exit (SIGKILL after a bound). */
  close(): Promise<void>;
}

export async function startMockProcess(
  kind: 'max' | 'ollama',
  args: readonly string[] = [],
): Promise<MockProcess> {
  const child = spawnBreakwater(['mock', kind, '--port', '0', ...args]);
  let started: LogLine;
  try {
    started = await within(
      child.waitForLog((l) => typeof l.controlUrl === 'string'),
      START_TIMEOUT_MS,
      `mock ${kind} start`,
    );
  } catch (err) {
    await child.kill();
    throw err;
  }
  const controlUrl = String(started.controlUrl);
  return {
    kind,
    url: String(started.url),
    controlUrl,
    child,
    setFault: async (fault) => void (await controlCall(controlUrl, 'PUT', '/_mock/fault', fault)),
    clearFault: async () => void (await controlCall(controlUrl, 'DELETE', '/_mock/fault')),
    fault: async () => (await controlCall(controlUrl, 'GET', '/_mock/fault')) as FaultSpec,
    stats: async () => (await controlCall(controlUrl, 'GET', '/_mock/stats')) as MockStats,
    resetStats: async () => void (await controlCall(controlUrl, 'POST', '/_mock/stats/reset')),
    configure: async (patch) => void (await controlCall(controlUrl, 'PUT', '/_mock/config', patch)),
    close: () => stopChild(child, 'SIGTERM'),
  };
}

/** Sends `signal` and waits for the exit; SIGKILL when it does not come within the bound. */
export async function stopChild(child: LoggedChild, signal: NodeJS.Signals): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill(signal);
  try {
    await within(child.exited, STOP_TIMEOUT_MS, `pid ${child.pid} exit after ${signal}`);
  } catch {
    await child.kill();
  }
}

/** A `breakwater run` child process on a policy file in its own temp directory. */
export interface SidecarProcess {
  readonly child: LoggedChild;
  readonly dir: string;
  readonly policyFile: string;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly healthUrl: string;
  /** The `breakwater listening` line. */
  readonly started: LogLine;
  /** Kills it if still running and removes the temp directory. */
  dispose(): Promise<void>;
}

export interface SidecarOptions {
  /** Extra `run` arguments (e.g. `--log-level`). */
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  /** `cgroup.procs` of the cgroup to start in. */
  readonly cgroupProcs?: string;
}

export async function startSidecarProcess(
  policy: string,
  options: SidecarOptions = {},
): Promise<SidecarProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'bw-chaos-'));
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, policy);
  const child = spawnBreakwater(['run', '--config', policyFile, ...(options.args ?? [])], {
    ...(options.env ? { env: options.env } : {}),
    ...(options.cgroupProcs ? { cgroupProcs: options.cgroupProcs } : {}),
  });
  const dispose = async (): Promise<void> => {
    await child.kill();
    await rm(dir, { recursive: true, force: true });
  };
  let started: LogLine;
  try {
    started = await within(
      child.waitForLog((l) => l.msg === 'breakwater listening'),
      START_TIMEOUT_MS,
      'breakwater run start',
    );
  } catch (err) {
    await dispose();
    throw err;
  }
  return {
    child,
    dir,
    policyFile,
    proxyUrl: httpOf((started.proxy as string[])[0]),
    adminUrl: httpOf(started.admin),
    healthUrl: httpOf(started.health),
    started,
    dispose,
  };
}

/** Writes `text` to a temp file and renames it over `file`, as a ConfigMap update swaps content. */
export async function replaceFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}
