import type { AddressInfo } from 'node:net';
import type { CircuitBreaker, Transition } from '../breaker/index.ts';
import type { ResponseCache } from '../cache/index.ts';
import { systemClock, type Clock } from '../clock/index.ts';
import type { FleetAgent } from '../fleet/index.ts';
import type { Logger } from '../log/index.ts';
import { HistoryRecorder } from '../history/index.ts';
import type { Tracing } from '../telemetry/index.ts';
import { Metrics, STATE_GAUGE } from '../metrics/index.ts';
import type { ListenAddress, Policy } from '../policy/index.ts';
import { Passthrough, ProxyServer, RouteTable, type Generation } from '../proxy/index.ts';
import type { PolicyReloader, ReloadFailure, ReloadResult, ReloadTrigger } from '../reload/index.ts';
import { UpstreamSet, type UpstreamRuntime } from '../upstream/index.ts';
import { drain, type DrainOutcome } from './drain.ts';

/** Something the sidecar closes when it stops (admin and health listeners, watchers, probes). */
export interface Closable {
  close(): Promise<void> | void;
}

/** How to build a sidecar; everything but the policy and logger has a default. */
export interface SidecarOptions {
  readonly policy: Policy;
  readonly logger: Logger;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Default: a new registry with process metrics. */
  readonly metrics?: Metrics;
  /** Random source for breaker jitter (tests). */
  readonly random?: () => number;
  /** Builds the cache of a policy; called at start and when `cache` changes on reload. */
  readonly createCache: (policy: Policy) => ResponseCache;
  /** Overrides `listen.proxy` (the `BREAKWATER_LISTEN_PROXY` variable, `inject --via hosts`). */
  readonly proxyListen?: readonly ListenAddress[];
  /** OpenTelemetry tracing; default none (off). */
  readonly tracing?: Tracing | null;
  /** Called with the upstreams of each generation as it is built, before it serves (fleet mode binds them). */
  readonly onUpstreams?: (upstreams: UpstreamSet) => void;
}

/**
 * One running breakwater: the proxy listeners over the active generation (policy, routes,
 * upstreams, cache). `applyPolicy` swaps in a new generation; breakers of upstreams that still
 * exist keep their state.
 */
export class Sidecar {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly proxy: ProxyServer;
  /** The last 15 minutes in 10 s buckets (`GET /history`). */
  readonly history: HistoryRecorder;
  #proxyAddresses: AddressInfo[];
  readonly #options: SidecarOptions;
  #started = false;
  #shuttingDown = false;
  #closing: Promise<void> | null = null;
  readonly #services: Closable[] = [];
  readonly #policyListeners: ((policy: Policy) => void)[] = [];
  #reloader: PolicyReloader | null = null;
  #adminAddress: AddressInfo | null = null;
  #healthAddress: AddressInfo | null = null;
  /** The fleet agent (fleet mode), for the admin API; null when the policy has no `fleet:`. */
  fleet: FleetAgent | null = null;

  private constructor(options: SidecarOptions, gen: Generation, metrics: Metrics, clock: Clock) {
    this.#options = options;
    this.logger = options.logger;
    this.clock = clock;
    this.metrics = metrics;
    this.proxy = new ProxyServer(gen, options.logger);
    this.history = new HistoryRecorder(metrics, () => this.breakers(), clock);
    this.#proxyAddresses = [];
  }

  /** Builds the first generation and binds the proxy listeners. */
  static async start(options: SidecarOptions): Promise<Sidecar> {
    const clock = options.clock ?? systemClock;
    const metrics = options.metrics ?? new Metrics();
    const holder: { sidecar: Sidecar | null } = { sidecar: null };
    const passthrough = new Passthrough();
    const gen = buildGeneration(options.policy, options, clock, metrics, passthrough, null, (t) =>
      holder.sidecar?.onTransition(t),
    );
    const sidecar = new Sidecar(options, gen, metrics, clock);
    holder.sidecar = sidecar;
    metrics.bindBreakers(() => sidecar.breakers());
    metrics.bindBuffered(() => sidecar.proxy.bodies.held);
    try {
      sidecar.#proxyAddresses = await sidecar.proxy.listen(
        options.proxyListen ?? options.policy.listen.proxy,
      );
    } catch (err) {
      passthrough.close();
      await gen.chain.upstreams.destroy();
      await gen.chain.cache.close();
      throw err;
    }
    sidecar.history.start();
    return sidecar;
  }

  /** The active policy. */
  get policy(): Policy {
    return this.proxy.generation.policy;
  }

  /** Bound proxy addresses (real ports when the policy said 0). */
  get proxyAddresses(): readonly AddressInfo[] {
    return this.#proxyAddresses;
  }

  /** True once the policy is loaded and every listener is bound (`/healthz/startup`). */
  get started(): boolean {
    return this.#started;
  }

  /** True from the first moment of shutdown (`/healthz/ready` answers 503). */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Bound admin address, once `startSidecar` has started the admin listener. */
  get adminAddress(): AddressInfo | null {
    return this.#adminAddress;
  }

  /** Bound health address, once `startSidecar` has started the health listener. */
  get healthAddress(): AddressInfo | null {
    return this.#healthAddress;
  }

  /** Records the control-plane listeners' addresses (they are closed through `attach`). */
  setControlAddresses(admin: AddressInfo, health: AddressInfo): void {
    this.#adminAddress = admin;
    this.#healthAddress = health;
  }

  /** Marks startup complete: every listener is bound. */
  markStarted(): void {
    this.#started = true;
  }

  /** Registers something to close with the sidecar (closed in reverse order, before the proxy). */
  attach(service: Closable): void {
    this.#services.push(service);
  }

  /** Calls `listener` with each policy `applyPolicy` makes active. */
  onPolicy(listener: (policy: Policy) => void): void {
    this.#policyListeners.push(listener);
  }

  /** Sets the reloader of the policy file (only when the policy came from a file). */
  setReloader(reloader: PolicyReloader): void {
    this.#reloader = reloader;
  }

  /** Re-reads the policy file (`SIGHUP`); resolves null when the policy has no file. */
  async reload(trigger: ReloadTrigger): Promise<ReloadResult | null> {
    return this.#reloader === null ? null : this.#reloader.reload(trigger);
  }

  /** The last rejected reload, shown by `GET /config`; null when none or a good policy followed. */
  lastReloadError(): ReloadFailure | null {
    return this.#reloader?.lastError ?? null;
  }

  /** The upstream of that name in the active generation. */
  upstream(name: string): UpstreamRuntime | undefined {
    return this.proxy.generation.chain.upstreams.byName.get(name);
  }

  /** The breakers of the active generation, for readiness. */
  breakerLookup(): {
    upstream(name: string): CircuitBreaker | undefined;
    readonly cache: CircuitBreaker | null;
  } {
    const chain = this.proxy.generation.chain;
    return { upstream: (name) => chain.upstreams.byName.get(name)?.breaker, cache: chain.cache.breaker };
  }

  /**
   * Graceful shutdown (docs/operations.md#graceful-shutdown-drain): readiness fails at once; new requests are still served; resolves
   * once `shutdown.drainDelayMs` has passed and nothing was in flight for `quietPeriodMs`, or at
   * `timeoutMs`, when what is left is ended with a protocol error event. Call `close()` after.
   */
  async shutdown(): Promise<DrainOutcome> {
    this.#shuttingDown = true;
    const outcome = await drain(this.proxy, this.policy.shutdown, this.clock);
    if (outcome === 'timeout') {
      this.logger.warn(
        { inflight: this.proxy.inflight },
        'shutdown timeout: ending the requests still in flight',
      );
      this.proxy.abortAll('breakwater is shutting down (shutdown.timeout reached)');
    }
    return outcome;
  }

  /** Every breaker: upstreams in policy order, then the cache's own. */
  breakers(): CircuitBreaker[] {
    const gen = this.proxy.generation;
    const list = [...gen.chain.upstreams.byName.values()].map((u) => u.breaker);
    if (gen.chain.cache.breaker !== null) list.push(gen.chain.cache.breaker);
    return list;
  }

  /** Swaps in a new policy (already validated). In-flight requests finish on the old generation. */
  applyPolicy(policy: Policy): void {
    const old = this.proxy.generation;
    const sameCache = JSON.stringify(old.policy.cache) === JSON.stringify(policy.cache);
    const gen = buildGeneration(
      policy,
      this.#options,
      this.clock,
      this.metrics,
      old.passthrough,
      { upstreams: old.chain.upstreams, cache: sameCache ? old.chain.cache : null },
      (t) => this.onTransition(t),
    );
    this.proxy.setGeneration(gen);
    if (!sameCache) void old.chain.cache.close().catch(() => undefined);
    for (const listener of this.#policyListeners) listener(policy);
  }

  /** Logs a breaker transition (one warn line each) and updates the state gauge. */
  onTransition(t: Transition): void {
    this.metrics.recordTransition(t);
    this.history.noteTransition(t);
    this.logger.warn(
      { breaker: t.name, from: t.from, to: t.to, reason: t.reason },
      `breaker ${t.name} ${t.from} -> ${t.to}`,
    );
  }

  /**
   * Stops everything: attached services (admin, health, reload watch, probes), the proxy
   * listeners, upstream pools and the cache. Safe to call twice.
   */
  close(): Promise<void> {
    this.#shuttingDown = true;
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.history.stop();
    for (const s of this.#services.reverse()) {
      await Promise.resolve(s.close()).catch((err: unknown) => this.logger.error({ err }, 'close failed'));
    }
    await this.proxy.close();
    const gen = this.proxy.generation;
    gen.passthrough.close();
    await gen.chain.upstreams.destroy();
    await gen.chain.cache.close();
  }
}

function buildGeneration(
  policy: Policy,
  options: SidecarOptions,
  clock: Clock,
  metrics: Metrics,
  passthrough: Passthrough,
  previous: { upstreams: UpstreamSet; cache: ResponseCache | null } | null,
  onTransition: (t: Transition) => void,
): Generation {
  const upstreams = UpstreamSet.build(
    policy,
    { clock, onTransition, ...(options.random ? { random: options.random } : {}) },
    previous?.upstreams ?? null,
  );
  options.onUpstreams?.(upstreams);
  for (const u of policy.upstreams) {
    metrics.breakerState.set({ name: u.name }, STATE_GAUGE[upstreams.byName.get(u.name)!.breaker.state] ?? 0);
  }
  // Every route and tier has its series from the start (at 0), for dashboards and the admin page.
  for (const route of policy.routes) {
    metrics.inflight.inc({ route: route.name }, 0);
    for (const tier of route.chain) {
      metrics.tierUsage.inc(
        { route: route.name, tier: tier.kind === 'upstream' ? tier.upstream : tier.kind },
        0,
      );
    }
  }
  const cache = previous?.cache ?? options.createCache(policy);
  return {
    policy,
    routes: new RouteTable(policy),
    chain: { upstreams, cache, metrics, clock, logger: options.logger, tracing: options.tracing ?? null },
    passthrough,
  };
}
