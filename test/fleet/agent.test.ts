import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { BreakerState } from '../../src/breaker/index.ts';
import { Redis } from 'ioredis';
import { FleetKeys } from '../../src/fleet/keys.ts';
import { RECOVER } from '../../src/fleet/scripts.ts';
import { findRedis } from '../helpers/redis.ts';
import { fail, fleetPolicy, groupName, metricValue, startPod, succeed, type Pod } from './helpers.ts';

const redis = await findRedis();
afterAll(async () => {
  await redis?.close();
});

const WAIT = { timeout: 10_000, interval: 20 };
let pods: Pod[] = [];
afterEach(async () => {
  await Promise.all(pods.map((p) => p.agent.close()));
  pods = [];
});

async function group(n: number, fleetExtra: Record<string, string> = {}, g = groupName()): Promise<Pod[]> {
  const started = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      startPod(fleetPolicy(redis!.url, g, `pod-${'abcdefgh'[i]}`, fleetExtra)),
    ),
  );
  pods.push(...started);
  return started;
}

describe.skipIf(redis === null)('FleetAgent', () => {
  it('opens every pod when quorum pods trip, with a reason naming them', async () => {
    const [a, b, c] = await group(3);
    fail(a!.max, 3);
    fail(b!.max, 3);
    await vi.waitFor(() => expect(c!.max.state).toBe(BreakerState.OPEN), WAIT);
    const reason = c!.max.snapshot().trip_reason!;
    expect(reason).toMatch(/^fleet: max-gpu failing on 2 pods \(quorum 2\), 6 failures in a row: /);
    expect(reason).toContain('pod-a 3 (tripped');
    expect(reason).toContain('pod-b 3 (tripped');
    expect(await metricValue(c!.registry, 'breakwater_fleet_opens_total', { upstream: 'max-gpu' })).toBe(1);
    const view = await c!.agent.view();
    expect(view.upstreams['max-gpu']).toMatchObject({ state: 'open', reason });
  });

  it('keeps the others closed when one pod alone keeps failing', async () => {
    const [sick, b, c] = await group(3);
    fail(sick!.max, 3);
    await vi.waitFor(
      async () =>
        expect(
          await metricValue(c!.registry, 'breakwater_fleet_reports_received_total', {
            upstream: 'max-gpu',
            kind: 'failing',
          }),
        ).toBeGreaterThanOrEqual(1),
      WAIT,
    );
    await vi.waitFor(async () => expect((await b!.agent.view()).pods).toHaveLength(3), WAIT);
    expect(sick!.max.state).toBe(BreakerState.OPEN);
    expect(b!.max.state).toBe(BreakerState.CLOSED);
    expect(c!.max.state).toBe(BreakerState.CLOSED);
    expect((await b!.agent.view()).upstreams['max-gpu']!.state).toBe('closed');
  });

  it('ends the group streak when another pod succeeds, so failures on both sides of it do not add up', async () => {
    const [a, b, c] = await group(3);
    fail(a!.max, 2);
    await vi.waitFor(
      async () => expect((await c!.agent.view()).upstreams['max-gpu']!.failing).toHaveLength(1),
      WAIT,
    );
    succeed(c!.max, 1);
    await vi.waitFor(
      async () => expect((await c!.agent.view()).upstreams['max-gpu']!.failing).toHaveLength(0),
      WAIT,
    );
    fail(b!.max, 3);
    await vi.waitFor(
      async () => expect((await c!.agent.view()).upstreams['max-gpu']!.failing).toHaveLength(1),
      WAIT,
    );
    expect(c!.max.state).toBe(BreakerState.CLOSED);
    expect(a!.max.state).toBe(BreakerState.CLOSED);
  });

  it('lets one pod probe and closes the others when its trials succeed', async () => {
    const [a, b, c] = await group(3);
    fail(a!.max, 3);
    fail(b!.max, 3);
    await vi.waitFor(() => expect(c!.max.state).toBe(BreakerState.OPEN), WAIT);
    for (const p of [a!, b!, c!]) p.clock.advance(10_000);
    // c asks first: its call is refused (no lease yet), which is the demand that takes the lease.
    expect(c!.max.tryAcquire()).toBeNull();
    await vi.waitFor(() => expect(c!.max.isAvailable()).toBe(true), WAIT);
    expect(a!.max.tryAcquire()).toBeNull();
    expect(b!.max.isAvailable()).toBe(false);
    const view = await a!.agent.view();
    expect(view.leases).toEqual([
      expect.objectContaining({ kind: 'probe', upstream: 'max-gpu', pod: 'pod-c' }),
    ]);
    succeed(c!.max, 2);
    expect(c!.max.state).toBe(BreakerState.CLOSED);
    await vi.waitFor(() => {
      expect(a!.max.state).toBe(BreakerState.CLOSED);
      expect(b!.max.state).toBe(BreakerState.CLOSED);
    }, WAIT);
    expect(a!.max.snapshot().total_requests).toBe(3);
    expect(
      await metricValue(c!.registry, 'breakwater_fleet_probe_leases_total', { upstream: 'max-gpu' }),
    ).toBe(1);
    expect((await a!.agent.view()).upstreams['max-gpu']!.state).toBe('closed');
  });

  it("closes with the prober's reason from the store when the recovered message never arrives", async () => {
    const g = groupName();
    const [a, b] = await group(2, {}, g);
    fail(a!.max, 3);
    fail(b!.max, 3);
    await vi.waitFor(() => {
      expect(a!.agent.groupState('max-gpu')).toBe('open');
      expect(b!.agent.groupState('max-gpu')).toBe('open');
    }, WAIT);
    // A prober elsewhere recovers, but its message goes to a channel no pod listens on.
    const keys = new FleetKeys('breakwater:fleet:', g);
    const u = 'max-gpu';
    const reason = `pod-z closed ${u} after its half-open trials succeeded`;
    const raw = new Redis(redis!.url);
    try {
      await raw.eval(
        RECOVER,
        4,
        keys.open(u),
        keys.streak(u),
        keys.probe(u),
        keys.recovered(u),
        'pod-z',
        `${keys.channel}:nowhere`,
        JSON.stringify({ t: 'recovered', u, pod: 'pod-z', reason }),
        60_000,
        reason,
      );
    } finally {
      raw.disconnect();
    }
    await vi.waitFor(() => {
      expect(a!.max.state).toBe(BreakerState.CLOSED);
      expect(b!.max.state).toBe(BreakerState.CLOSED);
    }, WAIT);
    for (const p of [a!, b!]) {
      const closed = p.transitions.at(-1)!;
      expect(closed).toMatchObject({ to: 'closed', reason: `fleet: ${reason}` });
    }
    const recovery = (await a!.agent.view()).upstreams[u]!.last_recovery;
    expect(recovery).toMatchObject({ pod: 'pod-z', reason });
    expect(Date.parse(recovery!.at)).toBeGreaterThan(Date.now() - 10_000);
  });

  it('keeps the probe lease with the prober through the wait after a failed trial', async () => {
    const [a, b] = await group(2);
    fail(a!.max, 3);
    fail(b!.max, 3);
    await vi.waitFor(() => {
      expect(a!.agent.groupState('max-gpu')).toBe('open');
      expect(b!.agent.groupState('max-gpu')).toBe('open');
    }, WAIT);
    for (const p of [a!, b!]) p.clock.advance(10_000);
    expect(a!.max.tryAcquire()).toBeNull();
    await vi.waitFor(() => expect(a!.max.isAvailable()).toBe(true), WAIT);
    fail(a!.max, 1);
    expect(a!.max.state).toBe(BreakerState.OPEN);
    a!.clock.advance(20_000);
    b!.clock.advance(20_000);
    expect(b!.max.tryAcquire()).toBeNull();
    await vi.waitFor(async () => {
      const view = await b!.agent.view();
      expect(view.pods.find((p) => p.pod === 'pod-b')?.upstreams['max-gpu']?.probe_lease).toBe(false);
      expect(view.leases.find((l) => l.kind === 'probe')?.pod).toBe('pod-a');
    }, WAIT);
    expect(b!.max.isAvailable()).toBe(false);
    expect(a!.max.isAvailable()).toBe(true);
  });

  it('applies a fleet-wide forced open and reset on every pod, naming who asked', async () => {
    const [a, b] = await group(2);
    await a!.agent.command('open', 'max-gpu', 'alice@laptop', 'GPU driver upgrade');
    await vi.waitFor(() => expect(b!.max.state).toBe(BreakerState.FORCED_OPEN), WAIT);
    expect(b!.max.snapshot().trip_reason).toBe(
      'forced open for the fleet by alice@laptop via pod-a: GPU driver upgrade',
    );
    expect((await b!.agent.view()).upstreams['max-gpu']!.state).toBe('forced_open');
    await b!.agent.command('reset', 'max-gpu', 'bob@desk', null);
    expect(b!.max.state).toBe(BreakerState.CLOSED);
    await vi.waitFor(() => expect(a!.max.state).toBe(BreakerState.CLOSED), WAIT);
    await expect(a!.agent.command('open', 'nope', 'x', null)).rejects.toMatchObject({
      code: 'BW_ERR_BREAKER_NOT_FOUND',
    });
  });

  it('opens the breaker of a pod that joins while the group holds the upstream open, as it binds', async () => {
    const g = groupName();
    const [a, b] = await group(2, {}, g);
    fail(a!.max, 3);
    fail(b!.max, 3);
    await vi.waitFor(
      async () => expect((await a!.agent.view()).upstreams['max-gpu']!.state).toBe('open'),
      WAIT,
    );
    const late = await startPod(fleetPolicy(redis!.url, g, 'pod-late'));
    pods.push(late);
    expect(late.max.state).toBe(BreakerState.OPEN);
    expect(late.max.snapshot().trip_reason).toContain('fleet: max-gpu failing on 2 pods');
  });

  it('caps leases across the group and gives a released one to the next caller', async () => {
    const [a, b] = await group(2);
    const first = await a!.budget.acquire();
    const second = await b!.budget.acquire();
    expect(typeof first).toBe('object');
    expect(typeof second).toBe('object');
    expect(await a!.budget.acquire()).toBe('busy');
    expect(await b!.budget.acquire()).toBe('busy');
    expect(
      await metricValue(a!.registry, 'breakwater_fleet_budget_spills_total', { upstream: 'ollama-cpu' }),
    ).toBe(1);
    expect(await metricValue(a!.registry, 'breakwater_fleet_budget_in_use', { upstream: 'ollama-cpu' })).toBe(
      1,
    );
    const view = await a!.agent.view();
    expect(
      view.leases
        .filter((l) => l.kind === 'budget')
        .map((l) => l.pod)
        .sort(),
    ).toEqual(['pod-a', 'pod-b']);
    (first as { release(): void }).release();
    (first as { release(): void }).release();
    await vi.waitFor(async () => expect(typeof (await b!.budget.acquire())).toBe('object'), WAIT);
    expect(await a!.budget.acquire()).toBe('busy');
  });

  it('answers local at once and lets breakers probe alone while the store is unreachable', async () => {
    const policy = fleetPolicy('redis://127.0.0.1:1', groupName(), 'pod-alone');
    const pod = await startPod(policy);
    pods.push(pod);
    expect(pod.agent.storeState).toBe('down');
    expect(await pod.budget.acquire()).toBe('local');
    fail(pod.max, 3);
    pod.clock.advance(10_000);
    expect(pod.max.tryAcquire()?.trial).toBe(true);
    const view = await pod.agent.view();
    expect(view).toMatchObject({ store: 'down', stale: true, pods: [{ pod: 'pod-alone' }] });
  });

  it.skipIf(redis?.controllable !== true)(
    'bounds a budget lease by the command timeout while the store is frozen, then rejoins',
    async () => {
      const [a] = await group(1, { commandTimeout: '100ms' });
      expect(a!.agent.storeState).toBe('connected');
      redis!.pause();
      try {
        const started = performance.now();
        expect(await a!.budget.acquire()).toBe('local');
        expect(performance.now() - started).toBeLessThan(1_000);
        const again = performance.now();
        expect(await a!.budget.acquire()).toBe('local');
        expect(performance.now() - again).toBeLessThan(20);
        await vi.waitFor(() => expect(a!.agent.storeState).toBe('down'), WAIT);
      } finally {
        redis!.resume();
      }
      await vi.waitFor(() => expect(a!.agent.storeState).toBe('connected'), WAIT);
      await vi.waitFor(async () => expect(typeof (await a!.budget.acquire())).toBe('object'), WAIT);
    },
  );
});
