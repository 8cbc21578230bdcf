import type { MockStats } from '../../src/mock/index.ts';
import { Api, type CallRecord } from './calls.ts';
import { skippedOf, type Verdict } from './judge.ts';

/** Skip reasons that are rejections by the breaker (`tryAcquire` said no: `total_rejections`). */
const REJECTED = new Set(['open', 'forced_open', 'half_open_busy']);

/** What the clients saw of one upstream, from `x-breakwater-tier`, `x-breakwater-skipped` and the bytes. */
export interface Observed {
  /** Complete answers from this upstream. */
  successes: number;
  /** Failures named in `x-breakwater-skipped` plus streams cut after the client got bytes. */
  failures: number;
  /** Of which: failures by skip reason (`connect`, `reset`, `timeout`, `503`, …) and `cut`. */
  failureKinds: Record<string, number>;
  /** 429: spilled to the next tier, neither success nor failure. */
  spills: number;
  /** Skipped because the breaker was open, forced open or its half-open slots taken. */
  rejections: number;
  /** Skipped at `maxConcurrent` (no breaker permit asked). */
  saturated: number;
}

const empty = (): Observed => ({
  successes: 0,
  failures: 0,
  failureKinds: {},
  spills: 0,
  rejections: 0,
  saturated: 0,
});

export function observe(
  records: readonly CallRecord[],
  verdicts: readonly Verdict[],
  upstreams: readonly string[],
): Record<string, Observed> {
  const out: Record<string, Observed> = {};
  for (const u of upstreams) out[u] = empty();
  const fail = (o: Observed, kind: string): void => {
    o.failures++;
    o.failureKinds[kind] = (o.failureKinds[kind] ?? 0) + 1;
  };
  records.forEach((rec, i) => {
    for (const [tier, reason] of skippedOf(rec)) {
      const o = out[tier];
      if (o === undefined) continue;
      if (REJECTED.has(reason)) o.rejections++;
      else if (reason === 'saturated') o.saturated++;
      else if (reason === '429') o.spills++;
      else fail(o, reason);
    }
    const v = verdicts[i]!;
    if (v.kind === 'answer' && out[v.tier] !== undefined) out[v.tier]!.successes++;
    if (v.kind === 'cut') fail(out[v.tier]!, 'cut');
  });
  return out;
}

/** A breaker as `GET /circuit-breakers` shows it (the fields compared). */
export interface BreakerCounts {
  readonly total_requests: number;
  readonly total_successes: number;
  readonly total_failures: number;
  readonly total_rejections: number;
}

/** The LLM paths the suites call: the mocks' `byPath` counts of these are the calls they received. */
const LLM_PATHS = new Set<string>(Object.values(Api));

export function llmRequests(stats: MockStats): number {
  let n = 0;
  for (const [path, count] of Object.entries(stats.byPath)) if (LLM_PATHS.has(path)) n += count;
  return n;
}

/**
 * How breaker counters, what the clients saw and what a mock received must agree, for one
 * upstream, once no call is in flight (docs/reliability.md):
 *
 * 1. Breaker = clients, exactly: `total_successes` = complete answers from it; `total_failures` =
 *    its failures named in `x-breakwater-skipped` plus its cut streams; `total_rejections` = its
 *    `open` / `half_open_busy` skips; `total_requests` = successes + failures + 429 spills.
 * 2. Permits = deliveries: every request the mock received came with a permit, and a permit whose
 *    request never reached the mock failed to connect or was reset on the way:
 *    `connect ≤ total_requests − received ≤ connect + reset`.
 * 3. Faults = failures: every request a fault hit ended as a failure or (429) a spill; a delivered
 *    request no fault hit fails only when a `refuse` fault dropped its connection in flight
 *    (seen as `reset` or a cut stream): with `unexplained = failures − undelivered − (faulted − spills)`,
 *    `0 ≤ unexplained ≤ reset + cut − (undelivered − connect)`, and 0 when no `refuse` was used.
 *
 * Returns the violated statements (empty when they agree) and the figures.
 */
export function agreement(
  name: string,
  b: BreakerCounts,
  o: Observed,
  stats: MockStats,
  refuseUsed: boolean,
): { problems: string[]; figures: Record<string, number> } {
  const problems: string[] = [];
  const eq = (what: string, breaker: number, seen: number): void => {
    if (breaker !== seen) problems.push(`${name}: breaker ${what} ${breaker} ≠ ${seen} seen by the clients`);
  };
  eq('total_successes', b.total_successes, o.successes);
  eq('total_failures', b.total_failures, o.failures);
  eq('total_rejections', b.total_rejections, o.rejections);
  eq('total_requests', b.total_requests, o.successes + o.failures + o.spills);
  const received = llmRequests(stats);
  const undelivered = b.total_requests - received;
  const connect = o.failureKinds.connect ?? 0;
  const reset = o.failureKinds.reset ?? 0;
  const cut = o.failureKinds.cut ?? 0;
  if (undelivered < connect || undelivered > connect + reset)
    problems.push(
      `${name}: ${b.total_requests} permits, ${received} received by the mock: ${undelivered} undelivered, ` +
        `not within [connect ${connect}, connect + reset ${connect + reset}]`,
    );
  const unexplained = o.failures - undelivered - (stats.faulted - o.spills);
  const bound = refuseUsed ? reset + cut - Math.max(0, undelivered - connect) : 0;
  if (unexplained < 0 || unexplained > bound)
    problems.push(
      `${name}: ${o.failures} failures, ${stats.faulted} faulted (${o.spills} of them 429), ` +
        `${undelivered} undelivered: ${unexplained} failures without a fault, allowed [0, ${bound}]`,
    );
  return {
    problems,
    figures: { received, faulted: stats.faulted, undelivered, unexplained, ...b },
  };
}
