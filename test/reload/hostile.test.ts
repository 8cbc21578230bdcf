import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { ErrorCode } from '../../src/errors/index.ts';
import { Metrics } from '../../src/metrics/index.ts';
import {
  loadPolicyFile,
  loadPolicyFileInWorker,
  POLICY_LIMITS,
  PolicyError,
  type Policy,
} from '../../src/policy/index.ts';
import { PolicyReloader, type ReloadResult } from '../../src/reload/index.ts';
import { capturingLogger, ConfigMapDir } from './helpers.ts';

const GOOD = (threshold: number): string =>
  `upstreams:\n  max-gpu:\n    url: http://127.0.0.1:1\n    breaker: { failureThreshold: ${threshold} }\n`;

let cm: ConfigMapDir | null = null;
let reloader: PolicyReloader | null = null;
afterEach(async () => {
  reloader?.close();
  await cm?.remove();
  cm = null;
  reloader = null;
});

/**
 * A reloader over a ConfigMap directory. `worker`: reloads parse in a worker thread, as in
 * `breakwater run` (each start costs a few hundred ms, so most tests parse on the test's thread:
 * the loader and its errors are the same).
 */
async function rig(thread: 'main' | 'worker' = 'main') {
  cm = await ConfigMapDir.create(GOOD(3));
  const file = cm.file;
  const load = (f: string, signal?: AbortSignal): Promise<Policy> =>
    thread === 'worker'
      ? loadPolicyFileInWorker(f, { env: {}, ...(signal ? { signal } : {}) })
      : loadPolicyFile(f, { env: {} });
  let active = await loadPolicyFile(file, { env: {} });
  const log = capturingLogger();
  reloader = new PolicyReloader({
    file,
    load,
    current: () => active,
    apply: (p) => {
      active = p;
    },
    metrics: new Metrics({ processMetrics: false }),
    logger: log.logger,
    clock: new ManualClock(),
  });
  /** The file the ConfigMap's `..data` link points at now. */
  const target = (): string => join(cm!.dir, '..data', 'policy.yaml');
  return { cm, reloader, log, active: () => active, target };
}

interface Hostile {
  readonly name: string;
  readonly content: () => string | Buffer;
  readonly error: RegExp;
  /** Where it is parsed: the 63,816-key file in a worker, as in `breakwater run`. */
  readonly thread?: 'main' | 'worker';
}

function aliasBomb(): string {
  let text = `a: &a [${Array(9).fill('"lol"').join(',')}]\n`;
  for (const [prev, next] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi']) {
    text += `${next}: &${next} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
  }
  return `${GOOD(4)}${text}`;
}

function manyKeys(): string {
  let text = '';
  for (let i = 0; text.length < 1_000_005 - 20; i++) text += `k${i}: ${i}\n`;
  return text;
}

const HOSTILE: readonly Hostile[] = [
  {
    name: 'an alias bomb',
    content: aliasBomb,
    error: /:\d+:\d+: expected at most 10,000 nodes with aliases expanded, got more/,
  },
  {
    name: 'a file over 1 MiB',
    content: () => `${GOOD(4)}# ${'x'.repeat(POLICY_LIMITS.maxFileBytes)}\n`,
    error: /: expected at most 1,048,576 bytes \(1 MiB\), got 1,048,6\d\d /,
  },
  {
    name: 'the 1,000,005-byte file of 63,816 keys',
    content: manyKeys,
    error: /:10001:1: expected at most 50,000 YAML tokens, got more/,
    thread: 'worker',
  },
  {
    name: 'bytes that are not UTF-8',
    content: () => Buffer.concat([Buffer.from(GOOD(4)), Buffer.from([0x23, 0x20, 0xff, 0x0a])]),
    error: /:5:3: not UTF-8: invalid byte sequence at byte offset \d+ \(0xFF\)/,
  },
  {
    name: 'an empty file',
    content: () => '',
    error: /:1:1: \(root\): expected a policy mapping .*, got an empty document/,
  },
  {
    name: 'nested complex keys',
    content: () => `${'? '.repeat(400)}1\n`,
    error: /:1:3: expected a plain key/,
  },
];

async function reloadFailing(r: Awaited<ReturnType<typeof rig>>, pattern: RegExp): Promise<ReloadResult> {
  const good = r.active();
  const result = await r.reloader.reload('watch');
  expect(result.outcome).toBe('failed');
  expect(result.error!.message).toMatch(pattern);
  expect(r.active()).toBe(good);
  expect(r.reloader.lastError).toBe(result.error);
  return result;
}

async function reloadsAgain(r: Awaited<ReturnType<typeof rig>>): Promise<void> {
  await r.cm.update(GOOD(7));
  const result = await r.reloader.reload('watch');
  expect(result.outcome).toBe('applied');
  expect(r.active().upstreams[0]!.breaker.failureThreshold).toBe(7);
  expect(r.reloader.lastError).toBeNull();
}

describe('reload of a hostile policy file', () => {
  it.each(HOSTILE)(
    'keeps the last good policy when the file is $name',
    async ({ content, error, thread }) => {
      const r = await rig(thread);
      await r.cm.update(content());
      await reloadFailing(r, error);
      // Reported once: the next look at the same bytes does nothing.
      expect((await r.reloader.reload('poll')).outcome).toBe('unchanged');
      await reloadsAgain(r);
    },
  );

  it('keeps the last good policy when a FIFO replaces the file, and reports it once', async () => {
    const r = await rig('worker');
    await unlink(r.target());
    execFileSync('mkfifo', [r.target()]);
    await reloadFailing(r, /cannot read the policy file \(expected a regular file, got a FIFO\)$/);
    expect((await r.reloader.reload('poll')).outcome).toBe('unchanged');
    // SIGHUP re-reads even what was judged already.
    expect((await r.reloader.reload('signal')).outcome).toBe('failed');
    await reloadsAgain(r);
  });

  it('keeps the last good policy when a directory replaces the file', async () => {
    const r = await rig();
    await unlink(r.target());
    await mkdir(r.target());
    await reloadFailing(r, /\(expected a regular file, got a directory\)$/);
    await rm(r.target(), { recursive: true });
    await reloadsAgain(r);
  });

  it('keeps the last good policy when the mounted directory has a symlink loop', async () => {
    const r = await rig();
    await rm(join(r.cm.dir, '..data'));
    await symlink('..data_loop', join(r.cm.dir, '..data'));
    await symlink('..data', join(r.cm.dir, '..data_loop'));
    await reloadFailing(r, /\(ELOOP: too many levels of symbolic links, a symlink loop\)$/);
    await rm(join(r.cm.dir, '..data'));
    await rm(join(r.cm.dir, '..data_loop'));
    await r.cm.update(GOOD(7));
    expect((await r.reloader.reload('watch')).outcome).toBe('applied');
  });

  it('keeps the last good policy when the file vanishes between events, and applies it when it is back', async () => {
    const r = await rig();
    await unlink(r.target());
    await reloadFailing(r, /cannot read the policy file \(ENOENT\)$/);
    await writeFile(r.target(), GOOD(3));
    // The same bytes as the active policy: nothing to apply, and the error is over.
    expect((await r.reloader.reload('watch')).outcome).toBe('unchanged');
    expect(r.reloader.lastError).toBeNull();
    await reloadsAgain(r);
  });

  it('does nothing once closed, and ends a parse in progress', async () => {
    const r = await rig('worker');
    await r.cm.update(GOOD(9));
    const pending = r.reloader.reload('watch');
    r.reloader.close();
    expect((await pending).outcome).toBe('unchanged');
    expect((await r.reloader.reload('signal')).outcome).toBe('unchanged');
    expect(r.active().upstreams[0]!.breaker.failureThreshold).toBe(3);
  });
});

describe('loadPolicyFileInWorker', () => {
  it('compiles the same policy as loadPolicyFile', async () => {
    cm = await ConfigMapDir.create(GOOD(5));
    const env = { UNUSED: 'x' };
    const [main, worker] = await Promise.all([
      loadPolicyFile(cm.file, { env }),
      loadPolicyFileInWorker(cm.file, { env }),
    ]);
    expect({ ...worker, source: null }).toEqual({ ...main, source: null });
    expect(worker.source.sha256).toBe(main.source.sha256);
    expect(worker.source.file).toBe(main.source.file);
    expect(Object.isFrozen(worker.upstreams[0]!.failOn)).toBe(true);
    expect(() => (worker.upstreams[0]!.failOn as Set<number>).add(1)).toThrow(TypeError);
  });

  it('rejects with the problems the worker found', async () => {
    cm = await ConfigMapDir.create(`${GOOD(3)}bogus: 1\n`);
    const err = await loadPolicyFileInWorker(cm.file, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).code).toBe(ErrorCode.POLICY_INVALID);
    expect((err as PolicyError).message).toBe(`${cm.file}:5:1: bogus: unknown key (expected one of ${KEYS})`);
  });

  it('ends the worker and rejects when the parse outlasts its timeout', async () => {
    cm = await ConfigMapDir.create(GOOD(3));
    const clock = new ManualClock();
    const pending = loadPolicyFileInWorker(cm.file, { env: {}, clock, timeoutMs: 1000 }).catch(
      (e: unknown) => e,
    );
    // The timer starts once the bytes are read; the worker needs far longer than these turns.
    for (let i = 0; i < 10_000 && clock.pendingTimers === 0; i++) await new Promise(setImmediate);
    clock.advance(1000);
    const err = (await pending) as PolicyError;
    expect(err.code).toBe(ErrorCode.POLICY_INVALID);
    expect(err.message).toBe(
      `${cm.file}: expected a parse within 1000 ms, got longer (a policy file limit, see docs/policy.md)`,
    );
  });

  it('rejects at once when aborted', async () => {
    cm = await ConfigMapDir.create(GOOD(3));
    const ac = new AbortController();
    ac.abort();
    const err = (await loadPolicyFileInWorker(cm.file, { env: {}, signal: ac.signal }).catch(
      (e: unknown) => e,
    )) as PolicyError;
    expect(err.message).toBe(`${cm.file}: parse cancelled: breakwater is closing`);
  });
});

const KEYS =
  'listen, admin, upstreams, cache, routes, readiness, shutdown, limits, resolver, telemetry, fleet';
