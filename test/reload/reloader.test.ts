import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { Metrics } from '../../src/metrics/index.ts';
import { loadPolicyFile, type Policy } from '../../src/policy/index.ts';
import { PolicyReloader } from '../../src/reload/index.ts';
import { capturingLogger, ConfigMapDir } from './helpers.ts';

const GOOD = (threshold: number): string =>
  `upstreams:\n  max-gpu:\n    url: http://127.0.0.1:1\n    breaker: { failureThreshold: ${threshold} }\n`;
const BAD = 'upstreams:\n  max-gpu:\n    url: http://127.0.0.1:1\n    breaker: { failureThreshld: 4 }\n';

let cm: ConfigMapDir | null = null;
afterEach(async () => {
  await cm?.remove();
  cm = null;
});

async function rig(text = GOOD(3)) {
  cm = await ConfigMapDir.create(text);
  const file = cm.file;
  const load = (f: string): Promise<Policy> => loadPolicyFile(f, { env: {} });
  let active = await load(file);
  const applied: Policy[] = [];
  const metrics = new Metrics({ processMetrics: false });
  const log = capturingLogger();
  const reloader = new PolicyReloader({
    file,
    load,
    current: () => active,
    apply: (p) => {
      applied.push(p);
      active = p;
    },
    metrics,
    logger: log.logger,
    clock: new ManualClock(Date.parse('2026-11-27T13:00:00Z')),
  });
  const count = async (result: 'success' | 'failure'): Promise<number> =>
    (await metrics.configReloads.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  return { cm: cm, reloader, applied, count, log, active: () => active };
}

describe('PolicyReloader', () => {
  it('applies a changed valid file and counts a success', async () => {
    const r = await rig();
    const before = r.active().source.sha256;
    await r.cm.update(GOOD(5));
    const result = await r.reloader.reload('watch');
    expect(result.outcome).toBe('applied');
    expect(r.applied).toHaveLength(1);
    expect(r.active().upstreams[0]!.breaker.failureThreshold).toBe(5);
    expect(result.sha256).toBe(r.active().source.sha256);
    expect(await r.count('success')).toBe(1);
    const line = r.log.lines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('policy reloaded'))!;
    expect(line).toMatchObject({ level: 30, from: before, to: r.active().source.sha256, trigger: 'watch' });
  });

  it('keeps the last good policy and reports file:line when the new file is invalid', async () => {
    const r = await rig();
    const good = r.active();
    await r.cm.update(BAD);
    const result = await r.reloader.reload('watch');
    expect(result.outcome).toBe('failed');
    expect(r.active()).toBe(good);
    expect(await r.count('failure')).toBe(1);
    expect(r.reloader.lastError).toMatchObject({
      trigger: 'watch',
      at: '2026-11-27T13:00:00.000Z',
      problems: [expect.objectContaining({ line: 4, path: 'upstreams.max-gpu.breaker.failureThreshld' })],
    });
    expect(r.reloader.lastError!.message).toContain(`${r.cm.file}:4:`);
    const errors = r.log.lines().filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(String(errors[0]!.msg)).toContain('upstreams.max-gpu.breaker.failureThreshld');
  });

  it('reports the same bad file once however often it is polled', async () => {
    const r = await rig();
    await r.cm.update(BAD);
    await r.reloader.reload('watch');
    expect((await r.reloader.reload('poll')).outcome).toBe('unchanged');
    expect((await r.reloader.reload('watch')).outcome).toBe('unchanged');
    expect(await r.count('failure')).toBe(1);
    expect(r.log.lines().filter((l) => l.level === 50)).toHaveLength(1);
    expect(r.reloader.lastError).not.toBeNull();
  });

  it('re-validates on SIGHUP even when the bytes did not change', async () => {
    const r = await rig();
    await r.cm.update(BAD);
    await r.reloader.reload('watch');
    expect((await r.reloader.reload('signal')).outcome).toBe('failed');
    expect(await r.count('failure')).toBe(2);
  });

  it('clears the last error once a good file follows a bad one', async () => {
    const r = await rig();
    await r.cm.update(BAD);
    await r.reloader.reload('watch');
    await r.cm.update(GOOD(7));
    expect((await r.reloader.reload('watch')).outcome).toBe('applied');
    expect(r.reloader.lastError).toBeNull();
  });

  it('does nothing when the file is unchanged', async () => {
    const r = await rig();
    expect((await r.reloader.reload('poll')).outcome).toBe('unchanged');
    expect((await r.reloader.reload('signal')).outcome).toBe('unchanged');
    expect(r.applied).toHaveLength(0);
    expect(await r.count('success')).toBe(0);
  });

  it('logs a listener address change as needing a restart', async () => {
    const r = await rig();
    await r.cm.update(`listen: { admin: 127.0.0.1:16000 }\n${GOOD(3)}`);
    expect((await r.reloader.reload('watch')).outcome).toBe('applied');
    const warn = r.log.lines().find((l) => l.level === 40)!;
    expect(warn).toMatchObject({
      key: 'listen.admin',
      active: '127.0.0.1:15000',
      configured: '127.0.0.1:16000',
    });
    expect(String(warn.msg)).toContain('restart');
  });

  it('reports an unreadable file as a failure', async () => {
    const r = await rig();
    await writeFile(`${r.cm.dir}/..data/policy.yaml`, Buffer.from([0xff, 0xfe, 0x00]));
    const result = await r.reloader.reload('watch');
    expect(result.outcome).toBe('failed');
    expect(result.error!.message).toContain('not UTF-8');
  });
});
