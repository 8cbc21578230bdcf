import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { findRedis } from '../helpers/redis.ts';
import { FleetHarness, PODS, breakerOf, chat, everyPod, fleetOf, load, transitions } from './processes.ts';

/**
 * Fleet mode with real processes (docs/fleet.md): six `breakwater run` sidecars with distinct
 * POD_NAMEs, one real redis-server, the project's mock MAX (one per pod) and mock Ollama; what
 * the mocks received is counted.
 */
const redis = await findRedis();
afterAll(async () => {
  await redis?.close();
});

const QUORUM = 2;
const THRESHOLD = 3;
const TEST_MS = 90_000;
/** Nothing listens on port 1 (a port below 1024 no test process binds): connections are refused. */
const REFUSED = 'http://127.0.0.1:1';

let h: FleetHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

function harness(): FleetHarness {
  return (h = new FleetHarness(redis!.url));
}

describe.skipIf(redis === null)('fleet breakers, six sidecar processes', () => {
  it(
    'stops every pod calling a hanging MAX once the group has seen quorum × threshold failures, and starts new pods informed',
    async () => {
      const f = harness();
      const pods = await f.start({ firstByte: '1s' });
      await Promise.all(f.maxes.map((m) => m.setFault({ mode: 'hang' })));
      const concurrency = PODS;
      const answers = await load(pods, 4 * PODS, concurrency);
      expect(answers.every((a) => a.status === 200 && a.tier === 'ollama-cpu')).toBe(true);
      // The failures that open the group, plus at most one call per client in flight meanwhile;
      // each pod learning alone would have sent PODS × THRESHOLD.
      const reached = f.received();
      expect(reached).toBeLessThanOrEqual(QUORUM * THRESHOLD + concurrency);
      expect(reached).toBeLessThan(PODS * THRESHOLD);
      const snaps = await Promise.all(pods.map((p) => breakerOf(p, 'max-gpu')));
      expect(snaps.map((s) => s.state)).toEqual(pods.map(() => 'open'));
      const opened = snaps.map((s) => Date.parse(s.opened_at!));
      expect(Math.max(...opened) - Math.min(...opened)).toBeLessThanOrEqual(1_000);
      const byFleet = snaps.filter((s) => s.trip_reason!.startsWith('fleet: max-gpu failing on '));
      expect(byFleet.length).toBeGreaterThanOrEqual(PODS - QUORUM);
      expect(byFleet[0]!.trip_reason).toMatch(/\(quorum 2\), \d+ failures in a row: pod-\d \d/);
      const more = await load(pods, 2 * PODS, concurrency);
      expect(more.every((a) => a.tier === 'ollama-cpu' && a.skipped === 'max-gpu=open')).toBe(true);
      expect(f.received()).toBe(reached);

      // A pod that starts, or restarts after a crash, while the group holds MAX open starts
      // informed: open before it listens, its first call straight to the next tier.
      const fresh = await f.mock('max');
      const newcomer = await f.add('pod-new', fresh.url);
      await pods[2]!.kill('SIGKILL');
      const restarted = await f.add('pod-2', fresh.url);
      for (const started of [newcomer, restarted]) {
        const first = await breakerOf(started, 'max-gpu');
        expect(first.state).toBe('open');
        expect(first.trip_reason).toMatch(/^fleet: max-gpu failing on \d pods/);
        expect((await fetch(`${started.healthUrl}/healthz/ready`)).status).toBe(200);
        expect(await chat(started)).toMatchObject({
          status: 200,
          tier: 'ollama-cpu',
          skipped: 'max-gpu=open',
        });
      }
      expect(fresh.stats().requests).toBe(0);
      console.info(
        `fleet: a hanging MAX received ${reached} calls from ${PODS} pods (bound ${QUORUM * THRESHOLD + concurrency})`,
      );
    },
    TEST_MS,
  );

  it(
    'keeps MAX closed on the other pods when only one pod cannot reach it',
    async () => {
      const f = harness();
      const pods = await f.start({}, (i) => (i === 0 ? REFUSED : undefined));
      const answers = await load(pods, 8 * PODS, PODS);
      const sick = await breakerOf(pods[0]!, 'max-gpu');
      expect(sick.state).toBe('open');
      expect(sick.trip_reason).toMatch(/^3 consecutive failures \(last: connect: /);
      for (const p of pods.slice(1)) expect((await breakerOf(p, 'max-gpu')).state).toBe('closed');
      const healthy = answers.filter((a) => a.pod !== 'pod-0');
      expect(healthy.every((a) => a.tier === 'max-gpu')).toBe(true);
      expect(f.received(f.maxes.slice(1))).toBe(healthy.length);
      expect((await fleetOf(pods[1]!)).upstreams['max-gpu']!.state).toBe('closed');
    },
    TEST_MS,
  );

  it(
    'lets one pod probe the recovering MAX; another takes over when the prober dies mid-probe',
    async () => {
      const f = harness();
      const pods = await f.start({ recovery: '2s', firstByte: '3s' });
      await Promise.all(f.maxes.map((m) => m.setFault({ mode: 'status', status: 503 })));
      await load(pods, PODS, PODS);
      await everyPod(pods, 'open');
      for (const m of f.maxes) m.resetStats();
      // MAX heals slowly: a trial takes 1.5 s, long enough to kill the prober during it.
      await Promise.all(f.maxes.map((m) => m.setFault({ mode: 'slow', delayMs: 1_500 })));
      const healedAt = Date.now();
      const live = new Set(pods);
      let running = true;
      const traffic = (async () => {
        const inflight: Promise<unknown>[] = [];
        while (running) {
          for (const p of live) inflight.push(chat(p).catch(() => null));
          // Paces the load (one call per pod every 100 ms); nothing waits on it.
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await Promise.all(inflight);
      })();
      try {
        const first = await vi.waitFor(
          () => {
            const i = f.maxes.findIndex((m) => m.stats().requests > 0);
            expect(i).toBeGreaterThanOrEqual(0);
            return pods[i]!;
          },
          { timeout: 20_000, interval: 20 },
        );
        const lease = (await fleetOf(pods.find((p) => p !== first)!)).leases.find((l) => l.kind === 'probe');
        expect(lease?.pod).toBe(first.name);
        live.delete(first);
        const killedAt = Date.now();
        await first.kill('SIGKILL');
        await Promise.all(f.maxes.map((m) => m.clearFault()));
        const rest = pods.filter((p) => p !== first);
        await everyPod(rest, 'closed');
        const halfOpens = rest.map((p) =>
          transitions(p, 'max-gpu').filter((t) => t.to === 'half_open' && t.atMs >= healedAt),
        );
        const probers = rest.filter((_, i) => halfOpens[i]!.length > 0);
        expect(probers).toHaveLength(1);
        const takeover = probers[0]!;
        const takeoverAt = halfOpens[rest.indexOf(takeover)]![0]!.atMs;
        expect(takeoverAt).toBeGreaterThan(killedAt);
        const closedAt = transitions(takeover, 'max-gpu').find(
          (t) => t.to === 'closed' && t.atMs >= healedAt,
        )!.atMs;
        for (const p of rest.filter((x) => x !== takeover)) {
          const closing = transitions(p, 'max-gpu').find((t) => t.to === 'closed' && t.atMs >= healedAt)!;
          expect(closing.reason).toBe(
            `fleet: ${takeover.name} closed max-gpu after its half-open trials succeeded`,
          );
          expect(closing.atMs - closedAt).toBeLessThanOrEqual(1_000);
        }
        console.info(`fleet: prober killed; ${takeover.name} took over ${takeoverAt - killedAt} ms later`);
      } finally {
        running = false;
        await traffic;
      }
    },
    TEST_MS,
  );
});
