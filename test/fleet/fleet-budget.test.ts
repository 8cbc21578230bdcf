import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { findRedis } from '../helpers/redis.ts';
import {
  FleetHarness,
  PODS,
  chat,
  fleetOf,
  load,
  percentile,
  type Answer,
  type PodProcess,
} from './processes.ts';

/**
 * The fleet budget and the loss of the store, with real processes (docs/fleet.md): six
 * `breakwater run` sidecars, one real redis-server (killed and frozen here), the project's mocks.
 */
const redis = await findRedis();
afterAll(async () => {
  await redis?.close();
});

const TEST_MS = 120_000;
const LEASE_TTL_MS = 1_000;
const OLLAMA_ONLY = `  - name: chat
    match: { pathPrefix: / }
    chain:
      - upstream: ollama-cpu
        models: { "*": "llama3.1:8b" }
      - degraded: {}`;
const TWO_ROUTES = `  - name: budgeted
    match: { pathPrefix: /api/ }
    chain:
      - upstream: ollama-cpu
      - degraded: {}
  - name: chat
    match: { pathPrefix: / }
    chain:
      - upstream: max-gpu
      - degraded: {}`;

let h: FleetHarness | null = null;
afterEach(async () => {
  redis?.resume();
  await redis?.start().catch(() => undefined);
  await h?.close();
  h = null;
});

async function whileLoaded<T>(
  pods: readonly PodProcess[],
  during: () => Promise<T>,
): Promise<{ result: T; answers: Answer[] }> {
  let running = true;
  const answers: Answer[] = [];
  const clients = pods.map(async (p) => {
    // A pod killed meanwhile stops its client.
    while (running) {
      const answer = await chat(p).catch(() => null);
      if (answer === null) return;
      answers.push(answer);
    }
  });
  try {
    return { result: await during(), answers };
  } finally {
    running = false;
    await Promise.all(clients);
  }
}

const count = (pod: PodProcess, msg: string): number => pod.logs().filter((l) => l.msg === msg).length;

async function storeOfEvery(pods: readonly PodProcess[], store: 'connected' | 'down'): Promise<void> {
  await vi.waitFor(
    async () => {
      const views = await Promise.all(pods.map((p) => fleetOf(p)));
      expect(views.map((v) => v.store)).toEqual(pods.map(() => store));
    },
    { timeout: 20_000, interval: 50 },
  );
}

describe.skipIf(redis === null)('fleet budget and store loss, six sidecar processes', () => {
  it(
    'never lets Ollama see more than fleetMaxConcurrent calls, spills the rest and expires a killed pod’s leases',
    async () => {
      const f = (h = new FleetHarness(redis!.url));
      const pods = await f.start({ fleetMaxConcurrent: 4, routes: OLLAMA_ONLY });
      const ollama = f.ollama!;
      await ollama.setFault({ mode: 'slow', delayMs: 300 });
      ollama.resetStats();
      const answers = await load(pods, 16 * PODS, 4 * PODS);
      expect(answers.every((a) => a.status === 200)).toBe(true);
      const served = answers.filter((a) => a.tier === 'ollama-cpu');
      const spilled = answers.filter((a) => a.tier === 'degraded');
      expect(served.length + spilled.length).toBe(answers.length);
      expect(spilled.length).toBeGreaterThan(0);
      expect(spilled.every((a) => a.skipped === 'ollama-cpu=fleet-busy')).toBe(true);
      expect(ollama.stats().requests).toBe(served.length);
      expect(ollama.stats().peakInflight).toBeLessThanOrEqual(4);
      expect(ollama.stats().peakInflight).toBeGreaterThanOrEqual(2);

      const victim = pods[PODS - 1]!;
      const survivors = pods.slice(0, PODS - 1);
      const { result: gone } = await whileLoaded(survivors.concat(victim), async () => {
        await vi.waitFor(
          async () => expect((await fleetOf(pods[0]!)).leases.some((l) => l.pod === victim.name)).toBe(true),
          { timeout: 20_000, interval: 10 },
        );
        await victim.kill('SIGKILL');
        const killedAt = Date.now();
        await vi.waitFor(
          async () => expect((await fleetOf(pods[0]!)).leases.some((l) => l.pod === victim.name)).toBe(false),
          { timeout: LEASE_TTL_MS + 10_000, interval: 50 },
        );
        return Date.now() - killedAt;
      });
      expect(gone).toBeLessThanOrEqual(LEASE_TTL_MS + 2_000);
      expect(ollama.stats().peakInflight).toBeLessThanOrEqual(4);
      console.info(
        `fleet: peak Ollama concurrency ${ollama.stats().peakInflight}; a killed pod's leases gone after ${gone} ms`,
      );
    },
    TEST_MS,
  );

  it.skipIf(redis?.controllable !== true)(
    'keeps every pod answering on local limits while the store is frozen or killed, and rejoins by itself',
    async () => {
      const f = (h = new FleetHarness(redis!.url));
      const pods = await f.start({ fleetMaxConcurrent: 1000, routes: TWO_ROUTES, commandTimeout: '200ms' });
      const measure = async (): Promise<{ budgeted: number; plain: number }> => {
        const budgeted = await load(pods, 10 * PODS, PODS, '/api/chat');
        const plain = await load(pods, 10 * PODS, PODS);
        expect(budgeted.every((a) => a.status === 200 && a.tier === 'ollama-cpu')).toBe(true);
        expect(plain.every((a) => a.status === 200 && a.tier === 'max-gpu')).toBe(true);
        return {
          budgeted: percentile(
            budgeted.map((a) => a.ms),
            99,
          ),
          plain: percentile(
            plain.map((a) => a.ms),
            99,
          ),
        };
      };
      const healthy = await measure();
      const LOST = 'fleet store lost: local breakers and limits apply until it is back';
      const BACK = 'fleet store back: rejoined the group';
      const before = pods.map((p) => [count(p, LOST), count(p, BACK)]);
      redis!.pause();
      const frozen = await measure();
      await storeOfEvery(pods, 'down');
      redis!.resume();
      await storeOfEvery(pods, 'connected');
      // Each call waits for the store at most once per pod, for the command timeout; the loaded
      // machine's own noise gets 500 ms on top.
      expect(frozen.budgeted).toBeLessThanOrEqual(healthy.budgeted + 200 + 500);
      expect(frozen.plain).toBeLessThanOrEqual(healthy.plain + 500);
      // Logged once per outage, however many commands failed meanwhile.
      pods.forEach((p, i) =>
        expect([count(p, LOST), count(p, BACK)]).toEqual([before[i]![0]! + 1, before[i]![1]! + 1]),
      );
      const beforeKill = pods.map((p) => [count(p, LOST), count(p, BACK)]);
      await redis!.stop();
      const answers = await load(pods, 2 * PODS, PODS, '/api/chat');
      expect(answers.every((a) => a.status === 200 && a.tier === 'ollama-cpu')).toBe(true);
      await storeOfEvery(pods, 'down');
      await redis!.start();
      await storeOfEvery(pods, 'connected');
      pods.forEach((p, i) =>
        expect([count(p, LOST), count(p, BACK)]).toEqual([beforeKill[i]![0]! + 1, beforeKill[i]![1]! + 1]),
      );
      expect((await fleetOf(pods[0]!)).pods.length).toBeGreaterThan(0);
      console.info(
        `fleet: p99 healthy store ${healthy.budgeted.toFixed(0)} ms budgeted / ${healthy.plain.toFixed(0)} ms not; ` +
          `frozen ${frozen.budgeted.toFixed(0)} / ${frozen.plain.toFixed(0)} ms`,
      );
    },
    TEST_MS,
  );
});
