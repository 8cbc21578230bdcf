import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli, type Child } from '../sidecar/helpers.ts';
import { ConfigMapDir } from './helpers.ts';

const POLICY = `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu: { url: "http://127.0.0.1:9" }
`;

const open: { child: Child | null; cm: ConfigMapDir | null } = { child: null, cm: null };
afterEach(async () => {
  const c = open.child;
  if (c && c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  if (c) await c.exited;
  await open.cm?.remove();
  open.child = null;
  open.cm = null;
});

describe('breakwater run reload', () => {
  it('reloads on a ConfigMap swap and re-validates on SIGHUP', async () => {
    open.cm = await ConfigMapDir.create(POLICY);
    const child = spawnCli(['run', '--config', open.cm.file]);
    open.child = child;
    const started = await child.waitForLog((l) => l.msg === 'breakwater listening');

    await open.cm.update(POLICY.replace('127.0.0.1:9', '127.0.0.1:10'));
    const reloaded = await child.waitForLog(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('policy reloaded'),
    );
    expect(reloaded).toMatchObject({ level: 30, from: started.sha256, trigger: 'watch' });

    await open.cm.update(`${POLICY}bogus: true\n`);
    const rejected = await child.waitForLog((l) => l.level === 50 && l.trigger === 'watch');
    expect(String(rejected.msg)).toContain(`${open.cm.file}:4:1: bogus`);

    child.proc.kill('SIGHUP');
    const again = await child.waitForLog((l) => l.level === 50 && l.trigger === 'signal');
    expect(again.active).toBe(reloaded.to);
    expect(child.proc.exitCode).toBeNull();
  });
});
