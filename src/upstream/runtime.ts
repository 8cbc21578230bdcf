import { createRequire } from 'node:module';
import type { LookupFunction } from 'node:net';
import type { Pool as UndiciPool, buildConnector as BuildConnector } from 'undici';
import { CircuitBreaker, type Transition } from '../breaker/index.ts';
import type { Clock } from '../clock/index.ts';
import type { LimitsPolicy, Policy, UpstreamPolicy } from '../policy/index.ts';
import { skipUnaskedContinue } from './interim.ts';
import { dnsLookup } from './resolver.ts';

/**
 * Only undici's Pool is loaded: the package entry also loads fetch, WebSocket, the HTTP cache and
 * more, ~13 MiB of resident memory in every pod for nothing (docs/design.md#budgets: RSS ≤ 80 MiB idle).
 */
const require = createRequire(import.meta.url);
const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
type Pool = UndiciPool;
const buildConnector = require('undici/lib/core/connect.js') as typeof BuildConnector;

/** A lease on a fleet budget, released once when its call ends (any way it ends). */
export interface BudgetLease {
  release(): void;
}

/**
 * The fleet-wide budget of one upstream (fleet mode, `fleetMaxConcurrent`; docs/fleet.md).
 * `acquire` costs at most one Redis round trip, bounded by `fleet.commandTimeout`, and answers a
 * lease, `busy` (the group's budget is used up: spill) or `local` (no answer in time: the local
 * `maxConcurrent` alone applies).
 */
export interface TierBudget {
  acquire(): Promise<BudgetLease | 'busy' | 'local'>;
}

/** Live state of one upstream: its connection pool, breaker and in-flight count. */
export class UpstreamRuntime {
  policy: UpstreamPolicy;
  readonly pool: Pool;
  readonly breaker: CircuitBreaker;
  /** Calls in flight now, against `maxConcurrent`. */
  inflight: number;
  /** Names of the tier's own headers, precomputed. */
  headerNames: ReadonlySet<string>;
  /** The policy's `limits` (response body and stream line caps). */
  limits: LimitsPolicy;
  /** The fleet budget of this upstream; null outside fleet mode or without `fleetMaxConcurrent`. */
  fleetBudget: TierBudget | null = null;

  constructor(policy: UpstreamPolicy, pool: Pool, breaker: CircuitBreaker, limits: LimitsPolicy) {
    this.policy = policy;
    this.pool = pool;
    this.breaker = breaker;
    this.inflight = 0;
    this.headerNames = new Set(Object.keys(policy.headers));
    this.limits = limits;
  }
}

/** Options shared by every upstream of one process. */
export interface UpstreamSetOptions {
  readonly clock: Clock;
  readonly onTransition: (t: Transition) => void;
  readonly random?: () => number;
}

function poolKey(u: UpstreamPolicy, resolver: string): string {
  return `${u.origin}|${u.timeouts.connectMs}|${resolver}`;
}

function createPool(u: UpstreamPolicy, lookup: LookupFunction | null): Pool {
  const connector = buildConnector(
    lookup ? { timeout: u.timeouts.connectMs, lookup } : { timeout: u.timeouts.connectMs },
  );
  return new Pool(u.origin, {
    connections: null,
    pipelining: 1,
    // breakwater runs its own first-byte and idle timers (docs/design.md#the-request-path); undici's would measure
    // headers, which MAX sends before it knows whether generation works.
    headersTimeout: 0,
    bodyTimeout: 0,
    keepAliveTimeout: 4_000,
    connect: (options, callback) => {
      connector(options, (err, socket) => {
        if (socket) skipUnaskedContinue(socket);
        (callback as (e: Error | null, s: typeof socket) => void)(err, socket);
      });
    },
  });
}

/**
 * The upstreams of the active policy. A reload builds a new set from the previous one: breakers
 * of upstreams that still exist keep their state (docs/operations.md#policy-reload), pools are kept when origin and connect
 * settings are unchanged, and the pools of removed upstreams are closed once their calls finish.
 */
export class UpstreamSet {
  readonly byName: ReadonlyMap<string, UpstreamRuntime>;
  readonly #keys: ReadonlyMap<string, string>;

  private constructor(byName: Map<string, UpstreamRuntime>, keys: Map<string, string>) {
    this.byName = byName;
    this.#keys = keys;
  }

  static build(policy: Policy, options: UpstreamSetOptions, previous: UpstreamSet | null): UpstreamSet {
    const lookup = policy.resolver === 'dns' ? dnsLookup() : null;
    const byName = new Map<string, UpstreamRuntime>();
    const keys = new Map<string, string>();
    for (const u of policy.upstreams) {
      const key = poolKey(u, policy.resolver);
      const old = previous?.byName.get(u.name);
      let runtime: UpstreamRuntime;
      if (old !== undefined && previous!.#keys.get(u.name) === key) {
        old.breaker.setPolicy(u.breaker);
        old.policy = u;
        old.headerNames = new Set(Object.keys(u.headers));
        old.limits = policy.limits;
        runtime = old;
      } else {
        const breaker =
          old?.breaker ??
          new CircuitBreaker(u.name, u.breaker, {
            clock: options.clock,
            onTransition: options.onTransition,
            ...(options.random ? { random: options.random } : {}),
          });
        if (old !== undefined) breaker.setPolicy(u.breaker);
        runtime = new UpstreamRuntime(u, createPool(u, lookup), breaker, policy.limits);
      }
      byName.set(u.name, runtime);
      keys.set(u.name, key);
    }
    if (previous) {
      for (const [name, old] of previous.byName) {
        if (byName.get(name)?.pool !== old.pool) void old.pool.close().catch(() => undefined);
      }
    }
    return new UpstreamSet(byName, keys);
  }

  /** Closes every pool, waiting for calls in flight. */
  async close(): Promise<void> {
    await Promise.all([...this.byName.values()].map((u) => u.pool.close().catch(() => undefined)));
  }

  /** Destroys every pool at once (second signal, shutdown timeout). */
  async destroy(): Promise<void> {
    await Promise.all([...this.byName.values()].map((u) => u.pool.destroy().catch(() => undefined)));
  }
}
