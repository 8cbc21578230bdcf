import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { OPENAI_MODEL, rawAgent } from './calls.ts';
import { MiB, chartLimitBytes, createMemoryCgroup, skipLoudly, type MemoryCgroup } from './cgroup.ts';
import { rssMiB } from './procfs.ts';
import { requireBuild } from './process.ts';
import { startSidecarProcess, stopChild, within, type SidecarProcess } from './stack.ts';
import { openCall, sseEndedWell } from './streams.ts';

/** The burst: this many keep-alive connections, each sending this many calls back to back. */
const BURST_CONNECTIONS = 50;
const BURST_CALLS_EACH = 20;
const STREAMS = 1000;
const GAP_MS = 1_000;
const EVENTS = 8;
const CALL_TIMEOUT_MS = 60_000;

const open: { max: MockServer | null; sidecar: SidecarProcess | null; cgroup: MemoryCgroup | null } = {
  max: null,
  sidecar: null,
  cgroup: null,
};
afterEach(async () => {
  await open.sidecar?.dispose();
  await open.max?.close();
  await open.cgroup?.remove();
  open.max = null;
  open.sidecar = null;
  open.cgroup = null;
});

const mib = (b: number): string => `${(b / MiB).toFixed(1)} MiB`;

/**
 * One limit: breakwater started inside a fresh memory cgroup at `limitBytes` carries a burst of
 * 50 connections × 20 calls (JSON and streams) and then 1000 streams open at once (held on the
 * mock's manual clock, then released), without an OOM kill and with every call answered.
 */
async function underLimit(limitBytes: number, skip: (note: string) => void): Promise<void> {
  await requireBuild();
  const cg = await createMemoryCgroup(limitBytes);
  if (typeof cg === 'string') {
    skip(skipLoudly(`MEMORY LIMIT TEST SKIPPED: ${cg}`));
    return;
  }
  open.cgroup = cg;
  const clock = new ManualClock();
  const max = await startMock({ kind: 'max', clock });
  open.max = max;
  const sidecar = await startSidecarProcess(
    `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu: { url: "${max.url}", maxConcurrent: ${STREAMS * 2}, timeout: { firstByte: 30s, idle: 60s } }
`,
    { cgroupProcs: cg.procs },
  );
  open.sidecar = sidecar;
  const pid = sidecar.child.pid;
  const idle = await cg.current();
  const url = `${sidecar.proxyUrl}/v1/chat/completions`;
  const body = (stream: boolean, i: number) => ({
    model: OPENAI_MODEL,
    messages: [{ role: 'user', content: `burst ${i % 100}` }],
    stream,
  });

  // The burst: mock streams go out whole (no chunk delay), so nothing waits on the manual clock.
  const burstAgent = rawAgent(BURST_CONNECTIONS);
  const t0 = Date.now();
  const burst = await Promise.all(
    Array.from({ length: BURST_CONNECTIONS }, async (_, c) => {
      let ok = 0;
      for (let k = 0; k < BURST_CALLS_EACH; k++) {
        const stream = k % 2 === 1;
        const r = await openCall(url, burstAgent, body(stream, c * BURST_CALLS_EACH + k), CALL_TIMEOUT_MS)
          .done;
        if (
          r.status === 200 &&
          r.error === null &&
          (stream ? sseEndedWell(r.body) : r.body.includes('"choices"'))
        )
          ok++;
      }
      return ok;
    }),
  );
  const burstMs = Date.now() - t0;
  burstAgent.destroy();
  const afterBurst = { current: await cg.current(), peak: await cg.peak(), rss: await rssMiB(pid) };

  // 1000 streams held open: each has sent its first event; the rest waits on the clock.
  max.configure({ chunkDelayMs: GAP_MS, streamChunks: EVENTS - 3 });
  const agent = rawAgent(STREAMS);
  const streams = Array.from({ length: STREAMS }, (_, i) =>
    openCall(url, agent, body(true, i), CALL_TIMEOUT_MS),
  );
  await within(Promise.all(streams.map((s) => s.firstData)), 60_000, `${STREAMS} streams open`);
  const holding = { current: await cg.current(), rss: await rssMiB(pid) };
  for (let i = 0; i < EVENTS; i++) {
    clock.advance(GAP_MS);
    await fetch(`${sidecar.healthUrl}/healthz/live`);
  }
  const results = await within(Promise.all(streams.map((s) => s.done)), 60_000, 'streams end');
  agent.destroy();
  const peak = await cg.peak();
  const kills = await cg.oomKills();
  const alive = sidecar.child.proc.exitCode === null && sidecar.child.proc.signalCode === null;
  await stopChild(sidecar.child, 'SIGTERM');
  const exit = await sidecar.child.exited;

  const burstOk = burst.reduce((a, b) => a + b, 0);
  const streamsOk = results.filter(
    (r) => r.status === 200 && r.error === null && sseEndedWell(r.body),
  ).length;
  console.log(
    `memory limit ${mib(limitBytes)} (cgroup v${cg.version}): charged idle ${mib(idle)}; ` +
      `burst ${BURST_CONNECTIONS}×${BURST_CALLS_EACH} in ${burstMs} ms, ${burstOk} ok, charged ${mib(afterBurst.current)} ` +
      `(peak ${mib(afterBurst.peak)}, RSS ${afterBurst.rss.toFixed(1)} MiB); ` +
      `${STREAMS} streams open: charged ${mib(holding.current)} (RSS ${holding.rss.toFixed(1)} MiB), ${streamsOk} ended with [DONE]; ` +
      `peak ${mib(peak)}; oom_kill ${kills}; exit ${String(exit)}`,
  );
  expect(kills, 'OOM kills').toBe(0);
  expect(alive, 'alive after the load').toBe(true);
  expect(exit, 'exit after SIGTERM (a kill would show as SIGKILL)').toBe(0);
  expect(burstOk).toBe(BURST_CONNECTIONS * BURST_CALLS_EACH);
  expect(streamsOk).toBe(STREAMS);
  // Headroom: the heaviest load measured leaves at least a tenth of the limit free (up to 100 MiB
  // of 128 MiB measured), so a regression shows here before it shows as an OOM kill in a pod.
  expect(peak, 'peak charge').toBeLessThanOrEqual(0.9 * limitBytes);
}

describe('memory limits (cgroup)', () => {
  it('carries a burst and 1000 concurrent streams at the chart memory limit without an OOM kill', async (ctx) => {
    await underLimit(await chartLimitBytes(), (m) => ctx.skip(m));
  }, 240_000);

  it('carries a burst and 1000 concurrent streams at half the chart memory limit without an OOM kill', async (ctx) => {
    await underLimit((await chartLimitBytes()) / 2, (m) => ctx.skip(m));
  }, 240_000);
});
