import { BreakerState, FailureKind } from '../breaker/index.ts';
import type { Clock, TimerHandle } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';
import type { HealthCheckPolicy, Policy } from '../policy/index.ts';
import type { UpstreamRuntime } from '../upstream/index.ts';
import { probeUpstream } from './probe.ts';

/** What a probe led to. */
export const ProbeAction = {
  /** Nothing changed (closed and passing, half-open, or failing while open). */
  NONE: 'none',
  /** It passed on an open breaker, which half-opened at once (`tryHalfOpen`). */
  HALF_OPENED: 'half_opened',
  /** It failed while closed with `whileClosed`: counted as a breaker failure (kind `health_check`). */
  FAILURE_RECORDED: 'failure_recorded',
} as const;
export type ProbeAction = (typeof ProbeAction)[keyof typeof ProbeAction];

/** One probe's outcome, passed to `onProbe`. */
export interface ProbeReport {
  readonly upstream: string;
  readonly ok: boolean;
  /** `HTTP 200`, `HTTP 503`, `model llama3 not listed`, `timeout after 2000 ms`, `ECONNREFUSED`. */
  readonly detail: string;
  readonly action: ProbeAction;
}

/** Options of `new HealthChecker(...)`. */
export interface HealthCheckerOptions {
  /** Source of the probe interval and timeout timers (unref'd with the system clock). */
  readonly clock: Clock;
  readonly logger: Logger;
  /** The upstream of that name in the active generation (pools are replaced on reload). */
  readonly upstream: (name: string) => UpstreamRuntime | undefined;
  /** Called after every probe (logs, tests). */
  readonly onProbe?: (report: ProbeReport) => void;
}

/** True when a breaker in `state` is probed: never forced open; closed only with `whileClosed`. */
function shouldProbe(state: string, hc: HealthCheckPolicy): boolean {
  if (state === BreakerState.FORCED_OPEN) return false;
  return state !== BreakerState.CLOSED || hc.whileClosed;
}

/**
 * Active health checks (docs/operations.md#active-health-checks, `upstreams.*.healthCheck`): every `intervalMs`, while an
 * upstream's breaker is not closed (or always with `whileClosed`), GET `healthCheck.path` through
 * the upstream's own pool with its `Host` and tier headers, plus the model list when
 * `expectModel` is set. A pass on an open breaker half-opens it at once, so the next user call is
 * a trial sooner without a user's call risking the wait. Probes never run against `forced_open`.
 * One probe at a time per upstream; the next is scheduled when it ends.
 */
export class HealthChecker {
  readonly #options: HealthCheckerOptions;
  readonly #timers = new Map<string, TimerHandle>();
  readonly #inflight = new Set<AbortController>();
  #epoch = 0;
  #closed = false;

  constructor(options: HealthCheckerOptions) {
    this.#options = options;
  }

  /** (Re)starts the probe loops for `policy`'s upstreams that have a `healthCheck` (start and reload). */
  sync(policy: Policy): void {
    this.#clearTimers();
    if (this.#closed) return;
    const epoch = ++this.#epoch;
    for (const u of policy.upstreams) {
      if (u.healthCheck !== null) this.#schedule(u.name, u.healthCheck, epoch);
    }
  }

  /** Number of upstreams with a probe scheduled. */
  get scheduled(): number {
    return this.#timers.size;
  }

  /** Probes `name` now, whatever its breaker state, and applies the result. */
  async probeNow(name: string, hc: HealthCheckPolicy): Promise<ProbeReport | null> {
    const rt = this.#options.upstream(name);
    if (rt === undefined) return null;
    const ac = new AbortController();
    this.#inflight.add(ac);
    try {
      const result = await probeUpstream(rt, hc, this.#options.clock, ac.signal);
      if (this.#closed) return null;
      const report = {
        upstream: name,
        ok: result.ok,
        detail: result.detail,
        action: this.#apply(rt, hc, result),
      };
      const logger = this.#options.logger;
      if (logger.isLevelEnabled('debug')) logger.debug({ ...report }, 'health check');
      this.#options.onProbe?.(report);
      return report;
    } finally {
      this.#inflight.delete(ac);
    }
  }

  /** Stops every loop and aborts probes in flight. */
  close(): void {
    this.#closed = true;
    this.#clearTimers();
    for (const ac of this.#inflight) ac.abort();
  }

  #apply(rt: UpstreamRuntime, hc: HealthCheckPolicy, result: { ok: boolean; detail: string }): ProbeAction {
    const breaker = rt.breaker;
    if (result.ok) return breaker.tryHalfOpen() ? ProbeAction.HALF_OPENED : ProbeAction.NONE;
    if (breaker.state !== BreakerState.CLOSED || !hc.whileClosed) return ProbeAction.NONE;
    const permit = breaker.tryAcquire();
    if (permit === null) return ProbeAction.NONE;
    breaker.failure(permit, { kind: FailureKind.HEALTH_CHECK, message: `${hc.path}: ${result.detail}` });
    return ProbeAction.FAILURE_RECORDED;
  }

  #schedule(name: string, hc: HealthCheckPolicy, epoch: number): void {
    const { clock } = this.#options;
    const handle = clock.setTimeout(() => {
      this.#timers.delete(name);
      void this.#tick(name, hc, epoch);
    }, hc.intervalMs);
    this.#timers.set(name, handle);
  }

  async #tick(name: string, hc: HealthCheckPolicy, epoch: number): Promise<void> {
    const rt = this.#options.upstream(name);
    try {
      if (rt !== undefined && shouldProbe(rt.breaker.state, hc)) await this.probeNow(name, hc);
    } catch (err) {
      this.#options.logger.error({ err, upstream: name }, 'health check failed unexpectedly');
    }
    if (!this.#closed && epoch === this.#epoch) this.#schedule(name, hc, epoch);
  }

  #clearTimers(): void {
    for (const handle of this.#timers.values()) this.#options.clock.clearTimeout(handle);
    this.#timers.clear();
  }
}
