import { afterEach, describe, expect, it } from 'vitest';
import { Api, makeCall, rawAgent, runPool, type CallSpec } from './calls.ts';
import { judge } from './judge.ts';
import { MiB, chartLimitBytes, createMemoryCgroup, skipLoudly, type MemoryCgroup } from './cgroup.ts';
import { fdKinds, median, rssMiB, scrape } from './procfs.ts';
import { requireBuild } from './process.ts';
import { startMockProcess, startSidecarProcess, type MockProcess, type SidecarProcess } from './stack.ts';

/** 20k calls in `npm test`; `npm run soak` sets BREAKWATER_SOAK_CALLS=100000. */
const CALLS = Number(process.env.BREAKWATER_SOAK_CALLS ?? 20_000);
const CONCURRENCY = 32;
/** Samples over the run, one every CALLS / SAMPLES calls (20 → five per quartile). */
const SAMPLES = 20;
/**
 * Allowed growth of the last quartile's median RSS over the second quartile's (docs/reliability.md).
 * Inside the chart's memory limit, quiet-point RSS moved by under 2 % over 20k calls; 10 % of its
 * ~120 MiB is ~12 MiB, which a leak of 1.2 KiB per call exceeds over the 10,000 calls between the
 * two quartiles' medians (50,000 calls apart in the 100k run: 250 B per call).
 */
const RSS_GROWTH = 0.1;
/**
 * Socket fds at quiet points vary by a few between samples: the upstream pools keep the
 * connections of the last concurrency peak alive for a few seconds (62–77 in one 20k run, medians
 * within 4 of each other); a leak of one socket per 1000 calls moves the median by 10.
 */
const KEEP_ALIVE_JITTER = 5;
const TEST_TIMEOUT_MS = Math.max(180_000, CALLS * 12);

/** JSON and streams of both protocols; 500 prompts, so the memory cache fills during warm-up. */
const MIX: readonly [Api, boolean][] = [
  [Api.OPENAI_CHAT, false],
  [Api.OPENAI_CHAT, true],
  [Api.OLLAMA_CHAT, true],
  [Api.OPENAI_COMPLETIONS, false],
  [Api.OLLAMA_GENERATE, false],
  [Api.OPENAI_CHAT, true],
];
const specOf = (id: number): CallSpec => {
  const [api, stream] = MIX[id % MIX.length]!;
  return { id, caller: 'raw', api, stream, prompt: `soak ${id % 500}` };
};

/** One quiet-point sample of the sidecar. */
interface Sample {
  calls: number;
  rssMiB: number;
  /** Memory the cgroup charges, MiB (null outside a cgroup). */
  chargedMiB: number | null;
  fds: Record<string, number>;
  handles: number;
  timers: number;
  sockets: number;
}

const open: { mocks: MockProcess[]; sidecar: SidecarProcess | null; cgroup: MemoryCgroup | null } = {
  mocks: [],
  sidecar: null,
  cgroup: null,
};
afterEach(async () => {
  await open.sidecar?.dispose();
  await Promise.all(open.mocks.map((m) => m.close()));
  await open.cgroup?.remove();
  open.mocks = [];
  open.sidecar = null;
  open.cgroup = null;
});

async function sample(sidecar: SidecarProcess, cg: MemoryCgroup | null, calls: number): Promise<Sample> {
  const m = await scrape(sidecar.healthUrl);
  const fds = await fdKinds(sidecar.child.pid);
  return {
    calls,
    rssMiB: await rssMiB(sidecar.child.pid),
    chargedMiB: cg === null ? null : (await cg.current()) / MiB,
    fds,
    handles: m.get('nodejs_active_handles_total') ?? 0,
    timers: m.get('nodejs_active_resources{type="Timeout"}') ?? 0,
    sockets: fds.socket ?? 0,
  };
}

const quartile = (xs: readonly Sample[], q: number): Sample[] =>
  xs.slice(Math.floor((xs.length * q) / 4), Math.floor((xs.length * (q + 1)) / 4));

describe('soak', () => {
  it(
    `keeps RSS, sockets, handles and timers flat over ${CALLS} calls`,
    async () => {
      await requireBuild();
      // As a pod runs it: inside the chart's memory limit, where Node sizes its heap to the
      // cgroup. Outside one, V8 lets a process on this 24 GiB machine grow its heap for tens of
      // thousands of calls before collecting (live heap flat): RSS is then reported, not judged.
      const cg = await createMemoryCgroup(await chartLimitBytes());
      if (typeof cg === 'string')
        skipLoudly(`SOAK RSS CHECK SKIPPED (sockets, handles, timers still judged): ${cg}`);
      else open.cgroup = cg;
      const group = typeof cg === 'string' ? null : cg;
      const max = await startMockProcess('max');
      open.mocks.push(max);
      const ollama = await startMockProcess('ollama');
      open.mocks.push(ollama);
      const sidecar = await startSidecarProcess(
        `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu: { url: "${max.url}", breaker: { recoveryTimeout: 200ms } }
  ollama-cpu: { url: "${ollama.url}", breaker: { recoveryTimeout: 200ms } }
routes:
  - name: openai
    match: { pathPrefix: /v1/ }
    chain: [{ upstream: max-gpu }, { upstream: ollama-cpu, models: { "*": "llama3.1:8b" } }, { cache: {} }, { degraded: {} }]
  - name: native
    match: { pathPrefix: /api/ }
    chain: [{ upstream: ollama-cpu }, { cache: {} }]
`,
        group === null ? {} : { cgroupProcs: group.procs },
      );
      open.sidecar = sidecar;
      const agent = rawAgent(CONCURRENCY);
      const ctx = { proxyUrl: sidecar.proxyUrl, agent, timeoutMs: 30_000 };
      const every = CALLS / SAMPLES;
      const samples: Sample[] = [await sample(sidecar, group, 0)];
      let inflight = 0;
      let idle: (() => void) | null = null;
      let barrier: { at: number; done: Promise<void> } | null = null;
      const failures: string[] = [];
      const t0 = Date.now();

      // Every `every` calls: no new call starts until those in flight ended, then a sample; and a
      // burst of count-limited faults, so failure paths (cut streams, 5xx, fallbacks) soak too.
      const beforeStart = (i: number): Promise<void> => {
        if (i === 0 || i % every !== 0) return Promise.resolve();
        if (barrier?.at !== i) {
          barrier = {
            at: i,
            done: (async () => {
              if (inflight > 0) await new Promise<void>((r) => (idle = r));
              samples.push(await sample(sidecar, group, i));
              const k = i / every;
              if (k % 2 === 1) await max.setFault({ mode: 'reset-mid-stream', afterChunks: 2, count: 20 });
              else await ollama.setFault({ mode: 'status', status: 503, count: 20 });
            })(),
          };
        }
        return barrier.done;
      };
      const records = await runPool(
        CALLS,
        CONCURRENCY,
        async (i) => {
          inflight++;
          const rec = await makeCall(ctx, specOf(i));
          const v = judge(rec, new Set(['Service temporarily unavailable']));
          if (v.kind === 'bad' && failures.length < 20) failures.push(`#${i}: ${v.reason}`);
          if (--inflight === 0) idle?.();
          return v.kind;
        },
        beforeStart,
      );
      const elapsedS = (Date.now() - t0) / 1000;
      samples.push(await sample(sidecar, group, CALLS));
      agent.destroy();

      const kinds: Record<string, number> = {};
      for (const k of records) kinds[k] = (kinds[k] ?? 0) + 1;
      const q2 = quartile(samples.slice(1), 1);
      const q4 = quartile(samples.slice(1), 3);
      const rss2 = median(q2.map((s) => s.rssMiB));
      const rss4 = median(q4.map((s) => s.rssMiB));
      console.log(
        `soak: ${CALLS} calls at concurrency ${CONCURRENCY} in ${elapsedS.toFixed(1)} s ` +
          `(${Math.round(CALLS / elapsedS)} calls/s): ${JSON.stringify(kinds)}\n` +
          `calls   RSS MiB  charged MiB  sockets  handles  timers  fds\n` +
          samples
            .map(
              (s) =>
                `${String(s.calls).padStart(6)}  ${s.rssMiB.toFixed(1).padStart(7)}  ${(s.chargedMiB?.toFixed(1) ?? '-').padStart(11)}  ${String(s.sockets).padStart(7)}  ` +
                `${String(s.handles).padStart(7)}  ${String(s.timers).padStart(6)}  ${JSON.stringify(s.fds)}`,
            )
            .join('\n') +
          `\nRSS median, second quartile ${rss2.toFixed(1)} MiB, last quartile ${rss4.toFixed(1)} MiB ` +
          `(${(((rss4 - rss2) / rss2) * 100).toFixed(1)} %)`,
      );
      expect(failures, 'calls without a proper answer').toEqual([]);
      if (group !== null) {
        expect(rss4, 'last-quartile median RSS').toBeLessThanOrEqual(rss2 * (1 + RSS_GROWTH));
        expect(await group.oomKills(), 'OOM kills').toBe(0);
      }
      // Counts at quiet points: the last quartile's median may exceed the second's only by what
      // keep-alive connections left open by recent peaks account for (sockets), else not at all.
      const total = (x: Sample): number => Object.values(x.fds).reduce((a, b) => a + b, 0);
      const counters: [string, (x: Sample) => number, number][] = [
        ['socket fds', (x) => x.sockets, KEEP_ALIVE_JITTER],
        ['all fds', total, KEEP_ALIVE_JITTER],
        ['active handles', (x) => x.handles, 0],
        ['active timers', (x) => x.timers, 0],
      ];
      for (const [name, f, slack] of counters) {
        expect(median(q4.map(f)), `${name}: last-quartile median`).toBeLessThanOrEqual(
          median(q2.map(f)) + slack,
        );
      }
      // And never above what the load can hold open: the three listeners, this test's own
      // keep-alive connection to the health listener (the samples), one inbound connection per
      // concurrent call, one upstream connection per concurrent call to each of the two mocks, and
      // the few connections of the last peak still closing (seen: up to 103 on a loaded
      // machine, 99 on a quiet one).
      expect(Math.max(...samples.map((x) => x.sockets)), 'socket fds, any sample').toBeLessThanOrEqual(
        3 + 1 + 3 * CONCURRENCY + KEEP_ALIVE_JITTER,
      );
    },
    TEST_TIMEOUT_MS,
  );
});
