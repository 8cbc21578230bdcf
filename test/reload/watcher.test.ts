import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { Metrics } from '../../src/metrics/index.ts';
import { loadPolicyFile, type Policy } from '../../src/policy/index.ts';
import { PolicyReloader, PolicyWatcher, type ReloadResult } from '../../src/reload/index.ts';
import { ConfigMapDir, deferred, settle } from './helpers.ts';

const POLICY = (threshold: number): string =>
  `upstreams:\n  max-gpu:\n    url: http://127.0.0.1:1\n    breaker: { failureThreshold: ${threshold} }\n`;

const open: { cm: ConfigMapDir[]; watchers: PolicyWatcher[] } = { cm: [], watchers: [] };
afterEach(async () => {
  for (const w of open.watchers) w.close();
  for (const c of open.cm) await c.remove();
  open.cm = [];
  open.watchers = [];
});

interface Rig {
  cm: ConfigMapDir;
  clock: ManualClock;
  watcher: PolicyWatcher;
  triggers: string[];
  /** Resolves at the next raw directory event. */
  nextEvent(): Promise<void>;
}

async function rig(
  options: { debounceMs?: number; pollIntervalMs?: number; onTrigger?: (t: string) => void } = {},
): Promise<Rig> {
  const cm = await ConfigMapDir.create(POLICY(3));
  open.cm.push(cm);
  const clock = new ManualClock();
  const triggers: string[] = [];
  let event = deferred();
  const watcher = new PolicyWatcher({
    file: cm.file,
    clock,
    logger: silentLogger(),
    debounceMs: options.debounceMs ?? 200,
    pollIntervalMs: options.pollIntervalMs ?? 0,
    onTrigger: (t) => {
      triggers.push(t);
      options.onTrigger?.(t);
    },
    onEvent: () => event.resolve(),
  });
  watcher.start();
  open.watchers.push(watcher);
  return {
    cm,
    clock,
    watcher,
    triggers,
    nextEvent: async () => {
      await event.promise;
      event = deferred();
      await settle();
    },
  };
}

describe('PolicyWatcher', () => {
  it('watches the directory of the policy file', async () => {
    const r = await rig();
    expect(r.watcher.directory).toBe(r.cm.dir);
  });

  it('triggers once per burst of events, after the debounce', async () => {
    const r = await rig({ debounceMs: 200 });
    await r.cm.update(POLICY(4));
    await r.nextEvent();
    r.clock.advance(199);
    expect(r.triggers).toEqual([]);
    r.clock.advance(1);
    expect(r.triggers).toEqual(['watch']);
    r.clock.advance(10_000);
    expect(r.triggers).toEqual(['watch']);
  });

  it('polls at the polling interval', async () => {
    const r = await rig({ pollIntervalMs: 10_000 });
    r.clock.advance(10_000);
    r.clock.advance(10_000);
    expect(r.triggers).toEqual(['poll', 'poll']);
  });

  it('stops every timer on close', async () => {
    const r = await rig({ pollIntervalMs: 10_000 });
    await writeFile(`${r.cm.dir}/other.txt`, 'x');
    await r.nextEvent();
    expect(r.clock.pendingTimers).toBe(2);
    r.watcher.close();
    expect(r.clock.pendingTimers).toBe(0);
  });
});

describe('PolicyWatcher with PolicyReloader', () => {
  it('sees the ConfigMap ..data symlink swap twice', async () => {
    let active: Policy | null = null;
    const results: ReloadResult[] = [];
    let result = deferred<ReloadResult>();
    let reloader: PolicyReloader | null = null;
    const r = await rig({ debounceMs: 150, onTrigger: (t) => void reloader!.reload(t as 'watch') });
    active = await loadPolicyFile(r.cm.file, { env: {} });
    reloader = new PolicyReloader({
      file: r.cm.file,
      load: (f) => loadPolicyFile(f, { env: {} }),
      current: () => active!,
      apply: (p) => (active = p),
      metrics: new Metrics({ processMetrics: false }),
      logger: silentLogger(),
      clock: r.clock,
      onResult: (res) => {
        results.push(res);
        result.resolve(res);
      },
    });
    for (const threshold of [4, 5]) {
      await r.cm.update(POLICY(threshold));
      await r.nextEvent();
      r.clock.advance(150);
      const res = await result.promise;
      result = deferred();
      expect(res.outcome).toBe('applied');
      expect(active.upstreams[0]!.breaker.failureThreshold).toBe(threshold);
    }
    expect(results.filter((x) => x.outcome === 'applied')).toHaveLength(2);
  });
});
