import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
/** The built CLI: these suites run what ships, `node dist/main.js` (`npm test` builds it first). */
export const MAIN = join(ROOT, 'dist', 'main.js');

/** One JSON log line of a child (pino). */
export type LogLine = Record<string, unknown> & { level?: number; msg?: string };

/** A child process whose stdout JSON log lines are kept and can be awaited. */
export interface LoggedChild {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly pid: number;
  /** Every JSON line seen on stdout so far. */
  readonly lines: readonly LogLine[];
  /** Non-JSON stdout lines (a crash trace or a stray print would land here). */
  readonly stray: readonly string[];
  stderr(): string;
  /** Resolves with the first line `match` accepts (lines already seen included); rejects on exit. */
  waitForLog(match: (line: LogLine) => boolean): Promise<LogLine>;
  /** Exit code, or the signal name when killed by one. */
  readonly exited: Promise<number | string>;
  /** Sends SIGKILL unless it already exited, and waits for the exit. */
  kill(): Promise<void>;
}

/** Fails early, with the command to run, when `dist/` was not built. */
export async function requireBuild(): Promise<void> {
  try {
    await access(MAIN);
  } catch {
    throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  }
}

/**
 * Spawns `node dist/main.js ...args`. With `cgroupProcs` (a cgroup's `cgroup.procs` file) a shell
 * first moves itself into that cgroup and then execs node, so every page node touches is charged
 * there from the first one (cgroup v1 does not move earlier charges with the process).
 */
export function spawnBreakwater(
  args: readonly string[],
  options: { env?: Record<string, string>; cgroupProcs?: string } = {},
): LoggedChild {
  const env = { ...process.env, ...options.env };
  const proc =
    options.cgroupProcs === undefined
      ? spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env })
      : spawn(
          '/bin/sh',
          ['-c', 'echo $$ > "$0" && exec "$@"', options.cgroupProcs, process.execPath, MAIN, ...args],
          { cwd: ROOT, env },
        );
  const lines: LogLine[] = [];
  const stray: string[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let partial = '';
  let err = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const text of parts) {
      if (text === '') continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        stray.push(text);
        continue;
      }
      lines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if (w.match(line)) {
          waiters.splice(i, 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const child: LoggedChild = {
    proc,
    pid: proc.pid!,
    lines,
    stray,
    stderr: () => err,
    exited,
    waitForLog(match) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then((code) =>
          reject(new Error(`breakwater exited (${code}) before the awaited log line; stderr:\n${err}`)),
        );
      });
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  return child;
}

/** `http://host:port` of a `host:port` (IPv6 in brackets already) from a start log line. */
export const httpOf = (hostPort: unknown): string => `http://${String(hostPort)}`;
