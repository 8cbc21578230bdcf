import type { FaultSpec } from '../../src/mock/index.ts';
import type { RedisHandle } from '../helpers/redis.ts';
import type { PolicyVersion } from './policy.ts';
import type { MockProcess, SidecarProcess } from './stack.ts';
import { replaceFile, within } from './stack.ts';

/** One change of the world, made before call number `at × calls` starts. */
export interface Step {
  readonly at: number;
  readonly name: string;
  run(): Promise<void>;
}

export interface ChaosWorld {
  readonly max: MockProcess;
  readonly ollama: MockProcess;
  readonly sidecar: SidecarProcess;
  /** A Redis the suite may kill, freeze and restart; null when only the memory cache is there. */
  readonly redis: RedisHandle | null;
  readonly versions: Record<string, PolicyVersion>;
}

const RELOAD_TIMEOUT_MS = 20_000;

/** Rewrites the policy file, sends SIGHUP and waits for the reloader's verdict on those bytes. */
async function writePolicy(w: ChaosWorld, v: PolicyVersion): Promise<void> {
  await replaceFile(w.sidecar.policyFile, v.text);
  const child = w.sidecar.child;
  const seen = child.waitForLog((l) =>
    v.good ? l.to === v.sha256 : l.sha256 === v.sha256 && l.level === 50,
  );
  child.proc.kill('SIGHUP');
  await within(seen, RELOAD_TIMEOUT_MS, `reload of policy ${v.name}`);
}

/** A fault's label in the hit ledger: the mode, with the status of `status` faults. */
const labelOf = (f: FaultSpec | null): string =>
  f === null ? 'none' : f.mode === 'status' ? `status ${f.status ?? 503}` : f.mode;

/** How many requests a count-limited fault answered: at least `atLeast`, at most `atMost`. */
export interface Consumed {
  atLeast: number;
  atMost: number;
}

/**
 * Which fault hit how many requests, per mock. `hits`, for the report: before each fault change
 * the mock's `faulted` counter is read and its growth credited to the fault that was active —
 * only approximate on a loaded machine, where a request the sidecar sent before a change may
 * reach the mock after it. `consumed`, exact bounds for count-limited faults: what the mock's
 * remaining `count` said just before the fault was replaced (more may be used while the
 * replacement is on its way, never more than `count`).
 */
export class FaultLedger {
  readonly hits: Record<string, Record<string, number>> = {};
  readonly consumed: Record<string, Record<string, Consumed>> = {};
  readonly #active = new Map<MockProcess, { spec: FaultSpec | null; faulted: number }>();

  async set(mock: MockProcess, fault: FaultSpec | null): Promise<void> {
    await this.settle(mock);
    if (fault === null) await mock.clearFault();
    else await mock.setFault(fault);
    this.#active.set(mock, { spec: fault, faulted: this.#active.get(mock)!.faulted });
  }

  /** Credits the `faulted` growth since the last look to the active fault. */
  async settle(mock: MockProcess): Promise<void> {
    const [stats, now] = await Promise.all([mock.stats(), mock.fault()]);
    const a = this.#active.get(mock) ?? { spec: null, faulted: 0 };
    const label = labelOf(a.spec);
    const byMode = (this.hits[mock.kind] ??= {});
    if (stats.faulted > a.faulted) byMode[label] = (byMode[label] ?? 0) + stats.faulted - a.faulted;
    const count = a.spec?.count;
    if (count !== undefined) {
      const left = now.mode === a.spec!.mode ? (now.count ?? count) : 0;
      const c = ((this.consumed[mock.kind] ??= {})[label] ??= { atLeast: 0, atMost: 0 });
      c.atLeast += count - left;
      c.atMost += count;
    }
    this.#active.set(mock, { spec: a.spec, faulted: stats.faulted });
  }
}

async function resetBreaker(w: ChaosWorld, name: string): Promise<void> {
  const res = await fetch(`${w.sidecar.adminUrl}/circuit-breakers/${name}/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`reset ${name}: ${res.status} ${await res.text()}`);
}

/**
 * The fault schedule: every mock fault mode (5xx, refused, hang, reset, cut mid-stream, stall,
 * malformed, in-band error, slow first token, 429), Redis killed, frozen and restarted, the
 * policy rewritten with good and bad versions plus SIGHUP, and operators resetting a breaker
 * through the admin API (so a fault that follows another still meets a closed breaker and hits
 * requests) — ending healthy.
 */
export function chaosSchedule(w: ChaosWorld, ledger: FaultLedger): Step[] {
  const max = (f: FaultSpec | null) => () => ledger.set(w.max, f);
  const oll = (f: FaultSpec | null) => () => ledger.set(w.ollama, f);
  const reset = (name: string, then: () => Promise<void>) => async () => {
    await then();
    await resetBreaker(w, name);
  };
  const both =
    (...fs: (() => Promise<void>)[]) =>
    async () =>
      void (await Promise.all(fs.map((f) => f())));
  const redis = (what: 'stop' | 'start' | 'pause' | 'resume') => async () => {
    const r = w.redis;
    if (r === null || !r.controllable) return;
    if (what === 'pause') r.pause();
    else if (what === 'resume') r.resume();
    else await r[what]();
  };
  const policy = (name: string) => () => writePolicy(w, w.versions[name]!);
  const steps: [string, () => Promise<void>][] = [
    ['max 500', max({ mode: 'status', status: 500 })],
    ['max refuses connections + breaker reset', reset('max-gpu', max({ mode: 'refuse' }))],
    ['max heals, ollama 502', both(max(null), oll({ mode: 'status', status: 502 }))],
    ['max hangs + breaker reset, ollama heals', both(reset('max-gpu', max({ mode: 'hang' })), oll(null))],
    ['max resets before answering + breaker reset', reset('max-gpu', max({ mode: 'reset' }))],
    [
      'max cuts streams after 2 events + breaker reset',
      reset('max-gpu', max({ mode: 'reset-mid-stream', afterChunks: 2 })),
    ],
    [
      'max in-band error + breaker reset, ollama 429 ×40',
      both(reset('max-gpu', max({ mode: 'in-band-error' })), oll({ mode: 'status', status: 429, count: 40 })),
    ],
    ['max slow first token (3 s) + breaker reset', reset('max-gpu', max({ mode: 'slow', delayMs: 3000 }))],
    [
      'max stalls mid-stream + breaker reset',
      reset('max-gpu', max({ mode: 'stall-mid-stream', afterChunks: 3 })),
    ],
    [
      'max malformed + breaker reset, ollama cuts streams',
      both(
        reset('max-gpu', max({ mode: 'malformed', afterChunks: 1 })),
        oll({ mode: 'reset-mid-stream', afterChunks: 1 }),
      ),
    ],
    ['redis frozen (SIGSTOP)', redis('pause')],
    [
      'max 504, ollama 503: both down',
      both(max({ mode: 'status', status: 504 }), oll({ mode: 'status', status: 503 })),
    ],
    ['redis thawed (SIGCONT)', redis('resume')],
    ['redis killed (SIGKILL)', redis('stop')],
    ['both heal', both(max(null), oll(null))],
    ['policy v2 (good) + SIGHUP', policy('v2')],
    ['policy with a typo + SIGHUP', policy('badKey')],
    ['redis restarted', redis('start')],
    [
      'max flaps (503 ×5), ollama hangs',
      both(max({ mode: 'status', status: 503, count: 5 }), oll({ mode: 'hang' })),
    ],
    ['policy with a YAML error + SIGHUP, ollama heals', both(policy('badYaml'), oll(null))],
    [
      'max refuses, ollama stalls mid-stream',
      both(max({ mode: 'refuse' }), oll({ mode: 'stall-mid-stream', afterChunks: 2 })),
    ],
    ['policy with a wrong type + SIGHUP', policy('badType')],
    [
      'max heals, ollama in-band error + breaker reset, policy v3 (good)',
      both(max(null), reset('ollama-cpu', oll({ mode: 'in-band-error' })), policy('v3')),
    ],
    ['max slow first token, ollama heals', both(max({ mode: 'slow', delayMs: 3000 }), oll(null))],
    // The incident is over: both heal and an operator resets both breakers.
    ['all healthy + breakers reset', both(reset('max-gpu', max(null)), reset('ollama-cpu', oll(null)))],
  ];
  // Spread over the first 85 % of the calls; the rest run healthy.
  return steps.map(([name, run], i) => ({ at: (0.85 * (i + 1)) / steps.length, name, run }));
}

/**
 * Runs the steps at fixed points of the call sequence: the worker about to start call `i` first
 * waits for every step due at or before `i` (run once, in order), while calls already started
 * carry on. So a fault always lands with up to `concurrency − 1` calls in flight, and the same
 * calls start under the same faults on a fast or a loaded machine; only timing inside differs.
 */
export class Conductor {
  readonly #steps: readonly { atCall: number; step: Step }[];
  #done = 0;
  #current: Promise<void> | null = null;
  /** Steps done: the call index each ran before, and how long it took. */
  readonly log: { name: string; atCall: number; ms: number }[] = [];

  constructor(steps: readonly Step[], total: number) {
    this.#steps = steps.map((step) => ({ atCall: Math.floor(step.at * total), step }));
  }

  /** Resolves once every step due before call `i` has run. */
  async before(i: number): Promise<void> {
    for (;;) {
      const next = this.#steps[this.#done];
      if (next === undefined || next.atCall > i) return;
      this.#current ??= this.#run(next.step, next.atCall);
      await this.#current;
    }
  }

  /** Runs what is left (a run shorter than the schedule still ends healthy). */
  finish(): Promise<void> {
    return this.before(Number.MAX_SAFE_INTEGER);
  }

  async #run(step: Step, atCall: number): Promise<void> {
    const t0 = Date.now();
    await step.run();
    this.log.push({ name: step.name, atCall, ms: Date.now() - t0 });
    this.#done++;
    this.#current = null;
  }
}
