import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { OPENAI_MODEL, rawAgent } from './calls.ts';
import { requireBuild } from './process.ts';
import { startSidecarProcess, within, type SidecarProcess } from './stack.ts';
import { openCall, sseEndedWell, type OpenCall } from './streams.ts';

/** Streams in flight when SIGTERM arrives (the brief's figure), and calls sent during the drain. */
const STREAMS = 200;
const DURING = 100;
/** Events of a mock stream, each released by one step of the mock's manual clock. */
const GAP_MS = 1_000;
const EVENTS = 8;
const SHUTDOWN = { drainDelayMs: 1_000, quietPeriodMs: 300, timeoutMs: 20_000 };
const CALL_TIMEOUT_MS = 60_000;
/** A drain that would hold the process for 30 s: only a second signal ends it sooner. */
const LONG_DRAIN = { drainDelayMs: 30_000, quietPeriodMs: 1_000, timeoutMs: 60_000 };

const open: { max: MockServer | null; sidecar: SidecarProcess | null } = { max: null, sidecar: null };
afterEach(async () => {
  await open.sidecar?.dispose();
  await open.max?.close();
  open.max = null;
  open.sidecar = null;
});

/**
 * A mock MAX whose streams move only when the test advances its clock (each stream sends its
 * first event at once, then one event per `GAP_MS`), and `breakwater run` in front of it with
 * timeouts far above the test's own bounds.
 */
async function start(
  clock: ManualClock,
  shutdown = SHUTDOWN,
): Promise<{ max: MockServer; sidecar: SidecarProcess }> {
  await requireBuild();
  const max = await startMock({ kind: 'max', clock, streamChunks: EVENTS - 3, chunkDelayMs: GAP_MS });
  open.max = max;
  const sidecar =
    await startSidecarProcess(`listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu: { url: "${max.url}", maxConcurrent: 1000, timeout: { firstByte: 30s, idle: 60s } }
shutdown: { drainDelay: ${shutdown.drainDelayMs}ms, quietPeriod: ${shutdown.quietPeriodMs}ms, timeout: ${shutdown.timeoutMs}ms }
`);
  open.sidecar = sidecar;
  return { max, sidecar };
}

const chat = (stream: boolean) => ({
  model: OPENAI_MODEL,
  messages: [{ role: 'user', content: 'drain' }],
  stream,
});

describe('drain under load', () => {
  it(`finishes ${STREAMS} streams in flight at SIGTERM, serves calls arriving during the drain, and exits 0 in time`, async () => {
    const clock = new ManualClock();
    const { max, sidecar } = await start(clock);
    const agent = rawAgent(STREAMS + DURING);
    const url = `${sidecar.proxyUrl}/v1/chat/completions`;
    const inFlight: OpenCall[] = Array.from({ length: STREAMS }, () =>
      openCall(url, agent, chat(true), CALL_TIMEOUT_MS),
    );
    // Every stream has its headers and first event: all of them are open, none can end yet.
    await within(Promise.all(inFlight.map((c) => c.firstData)), 30_000, 'streams open');
    expect(max.stats().requests).toBe(STREAMS);

    const t0 = Date.now();
    sidecar.child.proc.kill('SIGTERM');
    const shutting = await sidecar.child.waitForLog((l) => String(l.msg).startsWith('shutting down'));
    expect(shutting.inflight).toBe(STREAMS);
    const ready = await fetch(`${sidecar.healthUrl}/healthz/ready`);
    expect(ready.status).toBe(503);

    // Calls arriving while draining: half JSON, half streams.
    const during: OpenCall[] = Array.from({ length: DURING }, (_, i) =>
      openCall(url, agent, chat(i % 2 === 1), CALL_TIMEOUT_MS),
    );
    await within(max.waitForRequests(STREAMS + DURING), 30_000, 'calls during the drain reach the mock');
    // Release every stream event by event; a health round trip between steps lets bytes flow.
    for (let i = 0; i < EVENTS; i++) {
      clock.advance(GAP_MS);
      await fetch(`${sidecar.healthUrl}/healthz/live`);
    }
    const results = await within(Promise.all(inFlight.map((c) => c.done)), 30_000, 'streams end');
    const duringResults = await within(Promise.all(during.map((c) => c.done)), 30_000, 'drain calls end');
    const exit = await within(sidecar.child.exited, SHUTDOWN.timeoutMs + 10_000, 'exit');
    const exitMs = Date.now() - t0;
    const lastEndMs = Math.max(...results.map((r) => r.endedAtMs), ...duringResults.map((r) => r.endedAtMs));
    agent.destroy();

    const finished = results.filter((r) => r.status === 200 && r.error === null && sseEndedWell(r.body));
    const served = duringResults.filter(
      (r, i) =>
        r.status === 200 &&
        r.error === null &&
        (i % 2 === 1 ? sseEndedWell(r.body) : r.body.includes('"choices"')),
    );
    const stopped = await sidecar.child.waitForLog((l) => l.msg === 'stopped');
    console.log(
      `drain: ${finished.length}/${STREAMS} streams in flight at SIGTERM ended with [DONE]; ` +
        `${served.length}/${DURING} calls sent during the drain served; exit ${String(exit)} ` +
        `${exitMs} ms after SIGTERM (${exitMs - (lastEndMs - t0)} ms after the last call ended; ` +
        `drainDelay ${SHUTDOWN.drainDelayMs} ms, quietPeriod ${SHUTDOWN.quietPeriodMs} ms, timeout ${SHUTDOWN.timeoutMs} ms); outcome ${String(stopped.outcome)}`,
    );
    expect(finished.length).toBe(STREAMS);
    expect(served.length).toBe(DURING);
    expect(exit).toBe(0);
    expect(stopped.outcome).toBe('quiet');
    expect(exitMs).toBeLessThan(SHUTDOWN.timeoutMs);
    // It waited out the drain delay and the last call (the quiet period after it is the
    // `quiet` outcome: measured here it would include the client's own delivery delays).
    expect(exitMs).toBeGreaterThanOrEqual(Math.max(SHUTDOWN.drainDelayMs, lastEndMs - t0));
    expect(sidecar.child.stderr()).toBe('');
  }, 120_000);

  it('exits at once on a second signal, cutting the streams in flight without a clean end', async () => {
    const clock = new ManualClock();
    const { sidecar } = await start(clock, LONG_DRAIN);
    const agent = rawAgent(STREAMS);
    const url = `${sidecar.proxyUrl}/v1/chat/completions`;
    const inFlight = Array.from({ length: STREAMS }, () => openCall(url, agent, chat(true), CALL_TIMEOUT_MS));
    await within(Promise.all(inFlight.map((c) => c.firstData)), 30_000, 'streams open');
    sidecar.child.proc.kill('SIGTERM');
    await sidecar.child.waitForLog((l) => String(l.msg).startsWith('shutting down'));
    const t1 = Date.now();
    sidecar.child.proc.kill('SIGTERM');
    const exit = await within(sidecar.child.exited, 10_000, 'exit after the second signal');
    const exitMs = Date.now() - t1;
    const results = await within(Promise.all(inFlight.map((c) => c.done)), 30_000, 'streams end');
    agent.destroy();
    console.log(
      `drain: second SIGTERM → exit ${String(exit)} after ${exitMs} ms with ${STREAMS} streams open`,
    );
    expect(exit).toBe(0);
    // "At once": nowhere near the 30 s the drain would have waited (bounded for a loaded machine).
    expect(exitMs).toBeLessThan(5_000);
    // Every stream was cut: none ends with [DONE], each ends in a broken connection.
    expect(results.filter((r) => r.body.includes('[DONE]'))).toEqual([]);
    expect(results.filter((r) => r.error === null)).toEqual([]);
  }, 120_000);
});
