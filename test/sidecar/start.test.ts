import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nullCache } from '../../src/cache/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import { ErrorCode } from '../../src/errors/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { parsePolicy } from '../../src/policy/index.ts';
import { Sidecar } from '../../src/sidecar/index.ts';

const open: { server: Server | null; sidecar: Sidecar | null } = { server: null, sidecar: null };
afterEach(async () => {
  await open.sidecar?.close();
  await new Promise<void>((r) => (open.server ? open.server.close(() => r()) : r()));
  open.server = open.sidecar = null;
});

const policyOn = (proxy: string) =>
  parsePolicy(`listen: { proxy: ${proxy} }\nupstreams:\n  max-gpu: { url: http://127.0.0.1:9 }\n`, {
    file: null,
    env: {},
  });

describe('Sidecar.start', () => {
  it('leaves no history timer behind when a proxy listener cannot bind', async () => {
    open.server = createServer();
    await new Promise<void>((r) => open.server!.listen(0, '127.0.0.1', r));
    const { port } = open.server.address() as AddressInfo;
    const clock = new ManualClock();
    const start = Sidecar.start({
      policy: policyOn(`127.0.0.1:${port}`),
      logger: silentLogger(),
      clock,
      createCache: () => nullCache,
    });
    await expect(start).rejects.toMatchObject({ code: ErrorCode.LISTEN_FAILED });
    expect(clock.pendingTimers).toBe(0);
  });

  it('samples the history every 10 s of its clock once the listeners are bound', async () => {
    const clock = new ManualClock();
    const options = { policy: policyOn('127.0.0.1:0'), logger: silentLogger(), clock };
    open.sidecar = await Sidecar.start({ ...options, createCache: () => nullCache });
    expect(clock.pendingTimers).toBe(1);
    clock.advance(10_000);
    await expect.poll(() => open.sidecar!.history.view().buckets.length).toBe(1);
  });
});
