import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './process.ts';

/** A memory cgroup made for one test: the child is started inside it (`cgroup.procs`). */
export interface MemoryCgroup {
  readonly version: 1 | 2;
  readonly dir: string;
  /** Write a PID here to move it in (`cgroup.procs`). */
  readonly procs: string;
  readonly limitBytes: number;
  /** Charged memory now, bytes (v2 `memory.current`, v1 `memory.usage_in_bytes`). */
  current(): Promise<number>;
  /** Highest charge since creation, bytes (v2 `memory.peak`, v1 `memory.max_usage_in_bytes`). */
  peak(): Promise<number>;
  /** OOM kills in this cgroup (v2 `memory.events` oom_kill, v1 `memory.oom_control` oom_kill). */
  oomKills(): Promise<number>;
  /** Removes the cgroup (once its processes are gone); idempotent. */
  remove(): Promise<void>;
}

const V1_ROOT = '/sys/fs/cgroup/memory';
const V2_ROOT = '/sys/fs/cgroup';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

const readNumber = async (file: string): Promise<number> => Number((await readFile(file, 'utf8')).trim());

/** The value of `key` in a flat keyed file (`memory.events`, `memory.oom_control`). */
async function keyed(file: string, key: string): Promise<number> {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(await readFile(file, 'utf8'));
  return m === null ? 0 : Number(m[1]);
}

/**
 * Where this process's memory cgroup is: v2 when `/proc/self/cgroup` has only the unified line
 * and the unified hierarchy has a memory controller, else v1's memory hierarchy. New cgroups are
 * made below this process's own, so the test stays inside whatever limits it already runs under.
 */
async function ownCgroup(): Promise<{ version: 1 | 2; dir: string } | string> {
  const lines = (await readFile('/proc/self/cgroup', 'utf8')).trim().split('\n');
  const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('memory'));
  if (v1 !== undefined) {
    const dir = join(V1_ROOT, v1.split(':')[2] ?? '/');
    if (await exists(join(dir, 'memory.limit_in_bytes'))) return { version: 1, dir };
    return `cgroup v1 memory hierarchy not mounted at ${V1_ROOT}`;
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2 !== undefined && (await exists(join(V2_ROOT, 'cgroup.controllers')))) {
    const dir = join(V2_ROOT, v2.slice(3));
    const controllers = await readFile(join(dir, 'cgroup.controllers'), 'utf8').catch(() => '');
    if (
      controllers
        .split(' ')
        .map((s) => s.trim())
        .includes('memory')
    )
      return { version: 2, dir };
    return `cgroup v2 at ${dir} has no memory controller`;
  }
  return 'no memory cgroup found in /proc/self/cgroup';
}

let seq = 0;

/**
 * Creates a child memory cgroup limited to `limitBytes` (no swap), or returns why it cannot
 * (not root, read-only cgroupfs, no memory controller, v2 delegation rules). The caller skips
 * loudly on a string.
 */
export async function createMemoryCgroup(limitBytes: number): Promise<MemoryCgroup | string> {
  const own = await ownCgroup();
  if (typeof own === 'string') return own;
  const dir = join(own.dir, `breakwater-test-${process.pid}-${seq++}`);
  try {
    if (own.version === 2) {
      // The memory controller must be enabled for children; fails on a cgroup with processes
      // of its own (v2's no-internal-processes rule): then this machine cannot run the test.
      await writeFile(join(own.dir, 'cgroup.subtree_control'), '+memory').catch(() => undefined);
    }
    await mkdir(dir);
  } catch (err) {
    return `cannot create ${dir}: ${(err as Error).message}`;
  }
  const v = own.version;
  const file = (name: string): string => join(dir, name);
  try {
    if (v === 1) {
      await writeFile(file('memory.limit_in_bytes'), String(limitBytes));
    } else {
      await writeFile(file('memory.max'), String(limitBytes));
      await writeFile(file('memory.swap.max'), '0').catch(() => undefined);
    }
  } catch (err) {
    await rmdir(dir).catch(() => undefined);
    return `cannot set a memory limit in ${dir}: ${(err as Error).message}`;
  }
  let removed = false;
  return {
    version: v,
    dir,
    procs: file('cgroup.procs'),
    limitBytes,
    current: () => readNumber(file(v === 1 ? 'memory.usage_in_bytes' : 'memory.current')),
    peak: () => readNumber(file(v === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak')),
    oomKills: () =>
      v === 1 ? keyed(file('memory.oom_control'), 'oom_kill') : keyed(file('memory.events'), 'oom_kill'),
    async remove() {
      if (removed) return;
      removed = true;
      await rmdir(dir);
    },
  };
}

export const MiB = 1024 * 1024;

/** The chart's sidecar memory limit (`sidecar.resources.limits.memory` in values.yaml), bytes. */
export async function chartLimitBytes(): Promise<number> {
  const values = parse(await readFile(join(ROOT, 'charts', 'breakwater', 'values.yaml'), 'utf8')) as {
    sidecar: { resources: { limits: { memory: string } } };
  };
  const q = values.sidecar.resources.limits.memory;
  const m = /^(\d+)Mi$/.exec(q);
  if (m === null) throw new Error(`chart memory limit ${q}: expected NNNMi`);
  return Number(m[1]) * MiB;
}

/** Prints `message` where nobody can miss it and returns it (for `ctx.skip`). */
export function skipLoudly(message: string): string {
  const full = `${message} (needs root and a writable memory cgroup: cgroup v1, or v2 with the memory controller delegated)`;
  console.warn(`\n${'!'.repeat(100)}\n${full}\n${'!'.repeat(100)}\n`);
  return full;
}
