import type { Registry } from 'prom-client';
import { BreakerState, type CircuitBreaker } from '../breaker/index.ts';
import type { Clock, TimerHandle } from '../clock/index.ts';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { FleetPolicy, UpstreamPolicy } from '../policy/index.ts';
import { FleetBudget } from './budget.ts';
import type { FleetContext } from './context.ts';
import { sendCommand, type FleetCommandResult } from './command.ts';
import { applyForced, applyGroup, onEvent } from './decide.ts';
import { heartbeat } from './heartbeat.ts';
import { FleetKeys } from './keys.ts';
import { ProbeLease } from './lease.ts';
import { UpstreamLink } from './link.ts';
import { parseEvent } from './messages.ts';
import { FleetMetrics } from './metrics.ts';
import { resumeReports, tickLink } from './report.ts';
import { FleetStore } from './store.ts';
import { readFleetView, type FleetView, type PodView } from './view.ts';

/** How often the agent samples its breakers, reports and tends its leases, ms. */
export const FLEET_TICK_MS = 100;

/**
 * Deadline of a background command (heartbeat, report, lease), ms: one unanswered for two
 * heartbeats (at least 1 s) marks the store down. Longer than `fleet.commandTimeout`, which bounds
 * only what a call waits for a budget lease.
 */
export function syncTimeoutMs(p: FleetPolicy): number {
  return Math.max(p.commandTimeoutMs, 2 * p.heartbeatMs, 1_000);
}

/** Options of `FleetAgent.start`. */
export interface FleetAgentOptions {
  /** `fleet:` of the policy. */
  readonly policy: FleetPolicy;
  /** This pod's id (`fleet.podId`, or `$POD_NAME`, or the hostname). */
  readonly podId: string;
  /** The upstreams of the policy, known before their breakers exist. */
  readonly upstreams: readonly UpstreamPolicy[];
  readonly clock: Clock;
  readonly logger: Logger;
  /** The process's metrics registry; the fleet's metrics join it. */
  readonly registry: Registry;
}

/**
 * The fleet agent of one pod (docs/fleet.md). In the background it reports this pod's failure
 * streaks and trips to the group, hears the others' on the group's channel, judges the quorum,
 * pushes the group's decisions into the local breakers (`fleetOpen`, `fleetClose`, forced open,
 * reset), holds the probe lease that gates half-opening, renews budget leases and writes a
 * heartbeat with this pod's view. The request path never waits for it: breakers read only what
 * it already pushed; the one request-path call is a budget lease (`FleetBudget.acquire`).
 */
export class FleetAgent {
  readonly #ctx: FleetContext;
  readonly #links = new Map<string, UpstreamLink>();
  #tickTimer: TimerHandle | null = null;
  #beatTimer: TimerHandle | null = null;
  #nextRenewMs = 0;
  #closed = false;
  #lastView: FleetView | null = null;

  private constructor(o: FleetAgentOptions) {
    const keys = new FleetKeys(o.policy.keyPrefix, o.policy.group);
    const metrics = new FleetMetrics(o.registry);
    const store = new FleetStore({
      url: o.policy.redis,
      commandTimeoutMs: o.policy.commandTimeoutMs,
      syncTimeoutMs: syncTimeoutMs(o.policy),
      channel: keys.channel,
      clock: o.clock,
      logger: o.logger,
      metrics,
      onMessage: (text) => this.#onMessage(text),
    });
    store.onUp = () => {
      for (const link of this.#links.values()) resumeReports(this.#ctx, link);
    };
    this.#ctx = { podId: o.podId, policy: o.policy, keys, store, metrics, clock: o.clock, logger: o.logger };
    for (const u of o.upstreams) this.#link(u);
  }

  /**
   * Connects, subscribes and reads the group's state once (bounded by the store's deadlines), so
   * that a pod starting during an outage starts informed; then runs in the background. Never
   * rejects for the store: one that is down is logged once and retried.
   */
  static async start(options: FleetAgentOptions): Promise<FleetAgent> {
    const agent = new FleetAgent(options);
    await agent.#ctx.store.start(options.upstreams.some((u) => u.fleetMaxConcurrent !== null));
    await agent.#beat();
    agent.#scheduleTick();
    return agent;
  }

  get podId(): string {
    return this.#ctx.podId;
  }

  /**
   * What this pod knows of the group's judgement of an upstream: `open`, `forced_open` (an
   * operator's fleet-wide open), `closed`; null for an unknown upstream.
   */
  groupState(upstream: string): 'open' | 'forced_open' | 'closed' | null {
    const link = this.#links.get(upstream);
    if (link === undefined) return null;
    return link.forced !== null ? 'forced_open' : link.group !== null ? 'open' : 'closed';
  }

  /** `connected` while the store answers, `down` otherwise. */
  get storeState(): 'connected' | 'down' {
    return this.#ctx.store.up ? 'connected' : 'down';
  }

  /**
   * Binds this pod's breaker of one upstream (at start and after each reload) and applies what
   * the group already decided; returns the upstream's fleet budget (null without `fleetMaxConcurrent`).
   */
  bind(breaker: CircuitBreaker, policy: UpstreamPolicy): FleetBudget | null {
    const link = this.#link(policy);
    const store = this.#ctx.store;
    link.setPolicy(policy, this.#ctx.policy.windowMs);
    link.setBreaker(breaker, () => !store.up || link.group === null || link.lease.held);
    link.budget = this.#budgetFor(link, policy);
    if (link.forced !== null && breaker.state !== BreakerState.FORCED_OPEN) applyForced(link, link.forced);
    applyGroup(this.#ctx, link);
    return link.budget;
  }

  /** Forgets upstreams that left the policy. */
  retain(names: ReadonlySet<string>): void {
    for (const [name, link] of this.#links) {
      if (names.has(name)) continue;
      link.detach();
      this.#links.delete(name);
    }
  }

  /** The group as `GET /fleet` shows it; while the store is down, the last one read, marked stale. */
  async view(): Promise<FleetView> {
    const store = this.#ctx.store;
    if (store.up) {
      try {
        this.#lastView = await readFleetView(
          store.sync,
          this.#ctx.keys,
          [...this.#links.keys()],
          this.#base(),
        );
        return this.#lastView;
      } catch (err) {
        store.markDown('view', err);
      }
    }
    const base = this.#base();
    return this.#lastView === null
      ? { ...base, stale: true, pods: [this.#podView()], upstreams: {}, leases: [] }
      : { ...this.#lastView, ...base, stale: true };
  }

  /**
   * An operator's fleet-wide command: `open` forces the upstream open on every pod (held until a
   * fleet reset), `reset` closes it everywhere and clears the group's state for it. Every pod
   * applies it from the channel at once, or at its next heartbeat.
   */
  async command(
    action: 'open' | 'reset',
    upstream: string,
    by: string,
    reason: string | null,
  ): Promise<FleetCommandResult> {
    const link = this.#links.get(upstream);
    if (link === undefined) {
      const message = `no circuit breaker named ${JSON.stringify(upstream)}`;
      throw new BreakwaterError(ErrorCode.BREAKER_NOT_FOUND, message);
    }
    return sendCommand(this.#ctx, link, action, by, reason);
  }

  /** Stops the timers, gives back the probe leases this pod holds, closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const clock = this.#ctx.clock;
    if (this.#tickTimer) clock.clearTimeout(this.#tickTimer);
    if (this.#beatTimer) clock.clearTimeout(this.#beatTimer);
    for (const link of this.#links.values()) link.detach();
    await this.#ctx.store.close();
  }

  #link(policy: UpstreamPolicy): UpstreamLink {
    const existing = this.#links.get(policy.name);
    if (existing !== undefined) return existing;
    const { policy: fleet, keys, podId, store, clock, metrics } = this.#ctx;
    const lease = new ProbeLease({
      key: keys.probe(policy.name),
      podId,
      ttlMs: fleet.leaseTtlMs,
      retryEveryMs: fleet.heartbeatMs,
      store,
      clock,
      onTaken: () => {
        metrics.probeLeases.labels({ upstream: policy.name }).inc();
        this.#ctx.logger.info(
          { breaker: policy.name },
          `probe lease of ${policy.name} taken: this pod sends the trials`,
        );
      },
    });
    const link = new UpstreamLink(policy.name, policy, fleet.quorum, fleet.windowMs, lease);
    this.#links.set(policy.name, link);
    return link;
  }

  #budgetFor(link: UpstreamLink, policy: UpstreamPolicy): FleetBudget | null {
    const limit = policy.fleetMaxConcurrent;
    if (limit === null) return null;
    if (link.budget !== null) {
      link.budget.limit = limit;
      return link.budget;
    }
    const { podId, keys, policy: fleet, store, metrics } = this.#ctx;
    const options = { upstream: link.name, podId, key: keys.budget(link.name), ttlMs: fleet.leaseTtlMs };
    return new FleetBudget({ ...options, store, metrics }, limit);
  }

  #base(): Pick<FleetView, 'group' | 'pod' | 'store' | 'store_since' | 'quorum' | 'window_ms'> {
    const { policy, podId, store } = this.#ctx;
    return {
      group: policy.group,
      pod: podId,
      store: this.storeState,
      store_since: new Date(store.sinceMs).toISOString(),
      quorum: policy.quorum,
      window_ms: policy.windowMs,
    };
  }

  #podView(): PodView {
    const upstreams: Record<string, PodView['upstreams'][string]> = {};
    for (const l of this.#links.values()) {
      if (l.breaker === null) continue;
      const s = l.breaker.snapshot();
      upstreams[l.name] = {
        state: s.state,
        since: s.state_since,
        trip_reason: s.trip_reason,
        fleet_opened: l.fleetOpened,
        consecutive_failures: s.consecutive_failures,
        group_state: this.groupState(l.name)!,
        probe_lease: l.lease.held,
        budget_leases: l.budget?.held ?? 0,
      };
    }
    return { pod: this.#ctx.podId, last_heard: new Date(this.#ctx.clock.now()).toISOString(), upstreams };
  }

  #onMessage(text: string): void {
    const ev = parseEvent(text);
    const link = ev === null ? undefined : this.#links.get(ev.u);
    if (ev !== null && link !== undefined) onEvent(this.#ctx, link, ev);
  }

  #scheduleTick(): void {
    if (this.#closed) return;
    this.#tickTimer = this.#ctx.clock.setTimeout(() => {
      this.#tick();
      this.#scheduleTick();
    }, FLEET_TICK_MS);
  }

  #tick(): void {
    const { store, clock, policy } = this.#ctx;
    for (const link of this.#links.values()) {
      if (link.breaker !== null) tickLink(this.#ctx, link, link.breaker);
    }
    const now = clock.now();
    if (!store.up || now < this.#nextRenewMs) return;
    this.#nextRenewMs = now + policy.leaseTtlMs / 3;
    for (const link of this.#links.values()) {
      link.budget?.renew().catch((err: unknown) => store.markDown('budget-renew', err));
    }
  }

  /** One heartbeat now, the next one a heartbeat later (never two at once). */
  async #beat(): Promise<void> {
    if (this.#closed) return;
    await heartbeat(this.#ctx, [...this.#links.values()], this.#podView());
    if (this.#closed) return;
    this.#beatTimer = this.#ctx.clock.setTimeout(() => void this.#beat(), this.#ctx.policy.heartbeatMs);
  }
}
