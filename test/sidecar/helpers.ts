import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../src/clock/index.ts';
import { silentLogger, type Logger } from '../../src/log/index.ts';
import { startMock, type MockOptions, type MockServer } from '../../src/mock/index.ts';
import { loadPolicyFile, parsePolicy, type Policy } from '../../src/policy/index.ts';
import { startSidecar, type RunOptions, type Sidecar } from '../../src/sidecar/index.ts';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Mock MAX + mock Ollama + a whole sidecar (proxy, admin, health, probes, reload) on loopback. */
export interface Full {
  readonly max: MockServer;
  readonly ollama: MockServer;
  readonly sidecar: Sidecar;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly healthUrl: string;
  close(): Promise<void>;
}

export interface FullOptions {
  /** Policy YAML given the mock URLs; default {@link basePolicy}. */
  readonly policy?: (max: string, ollama: string) => string;
  /** Write the policy text to this file and load it from there (so it is watched and reloadable). */
  readonly file?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly max?: Partial<MockOptions>;
  readonly ollama?: Partial<MockOptions>;
  readonly run?: Partial<RunOptions>;
}

/** MAX → Ollama → cache → degraded, every listener on port 0, short timeouts. */
export function basePolicy(max: string, ollama: string, extra = ''): string {
  return `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu:
    url: ${max}
    timeout: { firstByte: 2s, idle: 2s }
    breaker: { failureThreshold: 2, recoveryTimeout: 30s, jitter: 0 }
  ollama-cpu:
    url: ${ollama}
    timeout: { firstByte: 2s, idle: 2s }
routes:
  - name: chat
    match: { pathPrefix: / }
    chain:
      - upstream: max-gpu
      - upstream: ollama-cpu
        models: { "*": "llama3.1:8b" }
      - cache: {}
      - degraded: { message: "Service temporarily unavailable" }
${extra}`;
}

const url = (a: { port: number } | null): string => `http://127.0.0.1:${a!.port}`;

export async function startFull(options: FullOptions = {}): Promise<Full> {
  const max = await startMock({ kind: 'max', ...options.max });
  const ollama = await startMock({ kind: 'ollama', ...options.ollama });
  let sidecar: Sidecar;
  try {
    const load = (f: string): Promise<Policy> => loadPolicyFile(f, { env: {} });
    const text = (options.policy ?? basePolicy)(max.url, ollama.url);
    if (options.file !== undefined) await writeFile(options.file, text);
    const policy =
      options.file !== undefined ? await load(options.file) : parsePolicy(text, { file: null, env: {} });
    sidecar = await startSidecar({
      policy,
      logger: options.logger ?? silentLogger(),
      loadPolicy: load,
      ...(options.clock ? { clock: options.clock } : {}),
      ...options.run,
    });
  } catch (err) {
    await Promise.all([max.close(), ollama.close()]);
    throw err;
  }
  return {
    max,
    ollama,
    sidecar,
    proxyUrl: url(sidecar.proxyAddresses[0]!),
    adminUrl: url(sidecar.adminAddress),
    healthUrl: url(sidecar.healthAddress),
    async close() {
      await sidecar.close();
      await Promise.all([max.close(), ollama.close()]);
    },
  };
}

/** POSTs a chat completion to the proxy. */
export function chat(proxyUrl: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${proxyUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Hello' }], ...extra }),
  });
}

/** A child `breakwater` process with its output collected and helpers to wait for log lines. */
export interface Child {
  readonly proc: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first JSON log line for which `match` is true (already seen ones included). */
  waitForLog(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
}

export function spawnCli(args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['src/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }[] = [];
  let partial = '';
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    partial += c.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const text of parts) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of waiters.filter((x) => x.match(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog: (match) => {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then((code) =>
          reject(new Error(`exited ${code} before the log line; stderr: ${err}; stdout: ${out}`)),
        );
      });
    },
  };
}
