import type { FleetMetrics } from './metrics.ts';
import type { FleetStore } from './store.ts';

/** A lease on a fleet budget: release it once when the call ends, whatever way it ends. */
export interface BudgetLease {
  release(): void;
}

/** What `FleetBudget.acquire` answers besides a lease. */
export const BudgetAnswer = {
  /** The group's budget is used up: spill to the next tier (`fleet-busy`). */
  BUSY: 'busy',
  /** The store did not answer in time (or is down): the local `maxConcurrent` alone applies. */
  LOCAL: 'local',
} as const;
export type BudgetAnswer = (typeof BudgetAnswer)[keyof typeof BudgetAnswer];

class Lease implements BudgetLease {
  #budget: FleetBudget | null;
  readonly #id: string;

  constructor(budget: FleetBudget, id: string) {
    this.#budget = budget;
    this.#id = id;
  }

  release(): void {
    this.#budget?.release(this.#id);
    this.#budget = null;
  }
}

/** Options of `new FleetBudget(...)`. */
export interface FleetBudgetOptions {
  readonly upstream: string;
  readonly podId: string;
  readonly key: string;
  /** Lease expiry if this pod stops renewing it (`fleet.leaseTtl`), ms. */
  readonly ttlMs: number;
  readonly store: FleetStore;
  readonly metrics: FleetMetrics;
}

/**
 * The fleet budget of one upstream (`fleetMaxConcurrent`): at most `limit` calls in flight across
 * the group. Leases live in a Redis sorted set scored by expiry; taking one is one script call
 * (one round trip) under `fleet.commandTimeout`. A lease is released when its call ends and
 * renewed by the agent every third of `fleet.leaseTtl` while the call lasts, so the leases of a
 * pod that dies expire within `fleet.leaseTtl`.
 */
export class FleetBudget {
  readonly upstream: string;
  /** `fleetMaxConcurrent` of the active policy. */
  limit: number;
  readonly #o: FleetBudgetOptions;
  readonly #held = new Set<string>();
  readonly #inUse: { inc(): void; dec(): void };
  readonly #spills: { inc(): void };
  #seq = 0;
  /** A command failed: the store is not asked again until the next heartbeat answers. */
  #local = false;

  constructor(options: FleetBudgetOptions, limit: number) {
    this.#o = options;
    this.upstream = options.upstream;
    this.limit = limit;
    this.#inUse = options.metrics.budgetInUse.labels({ upstream: options.upstream });
    this.#spills = options.metrics.budgetSpills.labels({ upstream: options.upstream });
    options.metrics.budgetInUse.labels({ upstream: options.upstream }).set(0);
  }

  /** Leases this pod holds now. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Asks for one call's lease: a lease, `busy` (the group's budget is used up) or `local` (the
   * store is down or did not answer within `fleet.commandTimeout`: the local limit applies).
   * At most one Redis round trip; none while the store is known down.
   */
  async acquire(): Promise<BudgetLease | BudgetAnswer> {
    const store = this.#o.store;
    if (this.#local || !store.up) return BudgetAnswer.LOCAL;
    const id = `${this.#o.podId}#${(++this.#seq).toString(36)}`;
    let granted: number;
    try {
      granted = await store.budget.bwBudgetAcquire(this.#o.key, this.limit, this.#o.ttlMs, id);
    } catch {
      this.#local = true;
      store.countError('budget');
      // The script may still have run after the deadline: give that lease back.
      this.#drop(id);
      return BudgetAnswer.LOCAL;
    }
    if (granted !== 1) {
      this.#spills.inc();
      return BudgetAnswer.BUSY;
    }
    this.#held.add(id);
    this.#inUse.inc();
    return new Lease(this, id);
  }

  /** Ends a lease (its call ended). Not awaited: a release that fails leaves the lease to expire. */
  release(id: string): void {
    if (!this.#held.delete(id)) return;
    this.#inUse.dec();
    this.#drop(id);
  }

  /** The store answered a heartbeat: ask it again. */
  resume(): void {
    this.#local = false;
  }

  /** Extends the expiry of every lease held (background, every third of `fleet.leaseTtl`). */
  async renew(): Promise<void> {
    if (this.#held.size === 0) return;
    await this.#o.store.sync.bwBudgetRenew(this.#o.key, this.#o.ttlMs, ...this.#held);
  }

  #drop(id: string): void {
    this.#o.store.budget.zrem(this.#o.key, id).catch(() => undefined);
  }
}
