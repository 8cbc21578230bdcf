import { createRequire } from 'node:module';
import type { ChainableCommander, Redis, RedisOptions } from 'ioredis';
import type { Clock } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';
import type { FleetMetrics } from './metrics.ts';
import {
  BUDGET_ACQUIRE,
  BUDGET_RENEW,
  HEARTBEAT,
  PROBE_DROP,
  PROBE_TAKE,
  RECOVER,
  REPORT_FAILING,
  REPORT_OK,
} from './scripts.ts';

/** The fleet's scripts as commands of a connection (ioredis `defineCommand`). */
export interface FleetScripts {
  bwBudgetAcquire(key: string, limit: number, ttlMs: number, id: string): Promise<number>;
  bwBudgetRenew(key: string, ttlMs: number, ...ids: string[]): Promise<number>;
  bwProbeTake(key: string, pod: string, ttlMs: number): Promise<number>;
  bwProbeDrop(key: string, pod: string): Promise<number>;
  bwReportFailing(
    key: string,
    pod: string,
    entry: string,
    windowMs: number,
    channel: string,
    upstream: string,
  ): Promise<number>;
  bwReportOk(key: string, pod: string, channel: string, upstream: string): Promise<number>;
  bwRecover(
    open: string,
    streak: string,
    probe: string,
    recovered: string,
    pod: string,
    channel: string,
    msg: string,
    ttlMs: number,
    reason: string,
  ): Promise<number>;
  bwHeartbeat(
    pods: string,
    podKey: string,
    pod: string,
    view: string,
    ttlMs: number,
  ): Promise<[number, number]>;
}

/** A connection with the fleet's scripts. */
export type FleetRedis = Redis & FleetScripts;
/** A pipeline of such a connection. */
export type FleetPipeline = ChainableCommander & {
  [K in keyof FleetScripts]: (...args: Parameters<FleetScripts[K]>) => FleetPipeline;
};

const SCRIPTS: ReadonlyArray<readonly [keyof FleetScripts, number, string]> = [
  ['bwBudgetAcquire', 1, BUDGET_ACQUIRE],
  ['bwBudgetRenew', 1, BUDGET_RENEW],
  ['bwProbeTake', 1, PROBE_TAKE],
  ['bwProbeDrop', 1, PROBE_DROP],
  ['bwReportFailing', 1, REPORT_FAILING],
  ['bwReportOk', 1, REPORT_OK],
  ['bwRecover', 4, RECOVER],
  ['bwHeartbeat', 2, HEARTBEAT],
];

/** ioredis is loaded only in fleet mode (or for a Redis cache): ~20 MiB of RSS otherwise unused. */
let RedisClass: typeof Redis | null = null;
function loadRedis(): typeof Redis {
  return (RedisClass ??= (createRequire(import.meta.url)('ioredis') as { Redis: typeof Redis }).Redis);
}

/** Reconnect delay: 50 ms doubling to a 1 s ceiling, forever (an outage must heal by itself). */
export function fleetReconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt - 1, 10), 1_000);
}

/**
 * Options of one fleet connection. As the cache's Redis store: while disconnected a command fails
 * at once instead of queueing (nothing waits for Redis), and each command has a deadline.
 */
export function fleetClientOptions(
  url: string,
  commandTimeoutMs: number,
): Omit<RedisOptions, 'replyMapping'> {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: true,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(500, commandTimeoutMs),
    retryStrategy: fleetReconnectDelayMs,
    lazyConnect: true,
    protocol: 2,
    disableClientInfo: true,
    ...(/^rediss:/i.test(url) ? { tls: {} } : {}),
  };
}

/** Options of `new FleetStore(...)`. */
export interface FleetStoreOptions {
  readonly url: string;
  /** Deadline of a budget command (`fleet.commandTimeout`), ms. */
  readonly commandTimeoutMs: number;
  /** Deadline of background commands (heartbeat, reports, leases), ms. */
  readonly syncTimeoutMs: number;
  /** The group's channel. */
  readonly channel: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: FleetMetrics;
  /** Each message of the group's channel. */
  readonly onMessage: (text: string) => void;
}

/**
 * The fleet's connections to Redis: `sync` for background work (heartbeats, reports, leases),
 * `budget` (opened only when an upstream has a fleet budget) for budget leases under the short
 * `fleet.commandTimeout`, and a subscriber on the group's channel. Tracks whether the store
 * answers (`up`), and logs its loss and its return once each.
 */
export class FleetStore {
  readonly sync: FleetRedis;
  readonly #sub: Redis;
  #budget: FleetRedis | null = null;
  readonly #o: FleetStoreOptions;
  #up = false;
  #everUp = false;
  #lossLogged = false;
  #sinceMs: number;
  #closed = false;
  /** Called when the store answers again after a loss (and the first time). */
  onUp: () => void = () => undefined;

  constructor(options: FleetStoreOptions) {
    this.#o = options;
    this.#sinceMs = options.clock.now();
    this.sync = this.#connect(options.syncTimeoutMs);
    this.#sub = new (loadRedis())(options.url, fleetClientOptions(options.url, options.syncTimeoutMs));
    this.#sub.on('error', (err: Error) => this.markDown('subscribe', err));
    this.#sub.on('message', (_channel: string, text: string) => options.onMessage(text));
  }

  /** The store answered the last background command. */
  get up(): boolean {
    return this.#up;
  }

  /** Since when the store is in its current state (`up` or not), ms since the epoch. */
  get sinceMs(): number {
    return this.#sinceMs;
  }

  /**
   * The connection of budget leases (`fleet.commandTimeout`), opened at start when the policy has
   * a budgeted upstream, else when one is bound after a reload.
   */
  get budget(): FleetRedis {
    if (this.#budget === null)
      this.#budgetClient()
        .connect()
        .catch(() => undefined);
    return this.#budget!;
  }

  #budgetClient(): FleetRedis {
    return (this.#budget ??= this.#connect(this.#o.commandTimeoutMs));
  }

  /**
   * Connects and subscribes (and opens the budget connection when `withBudget`); never rejects:
   * a store that is down is retried in the background.
   */
  async start(withBudget: boolean): Promise<void> {
    await Promise.all([
      this.sync.connect().catch(() => undefined),
      withBudget
        ? this.#budgetClient()
            .connect()
            .catch(() => undefined)
        : null,
      this.#sub
        .connect()
        .then(() => this.#sub.subscribe(this.#o.channel))
        .catch((err: unknown) => this.markDown('subscribe', err)),
    ]);
  }

  /** A command failed without saying anything about the store as a whole (a budget timeout). */
  countError(op: string): void {
    this.#o.metrics.storeErrors.labels({ op }).inc();
  }

  /** A background command or a connection failed: the store is down; the first failure of an outage logs it. */
  markDown(op: string, err: unknown): void {
    if (this.#closed) return;
    this.countError(op);
    if (this.#up) {
      this.#up = false;
      this.#sinceMs = this.#o.clock.now();
      this.#o.metrics.storeUp.set(0);
    }
    if (this.#lossLogged) return;
    this.#lossLogged = true;
    this.#o.logger.warn(
      { op, err: message(err) },
      this.#everUp
        ? 'fleet store lost: local breakers and limits apply until it is back'
        : 'fleet store unreachable: local breakers and limits apply until it answers',
    );
  }

  /** A background command succeeded: the store answers. */
  markUp(): void {
    if (this.#up || this.#closed) return;
    this.#up = true;
    this.#sinceMs = this.#o.clock.now();
    this.#o.metrics.storeUp.set(1);
    this.#o.logger.info(
      this.#everUp ? 'fleet store back: rejoined the group' : 'fleet store connected: joined the group',
    );
    this.#everUp = true;
    this.#lossLogged = false;
    this.onUp();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const clients: Redis[] = [this.sync, this.#sub, ...(this.#budget ? [this.#budget] : [])];
    await Promise.all(clients.map(quit));
  }

  #connect(timeoutMs: number): FleetRedis {
    const client = new (loadRedis())(this.#o.url, fleetClientOptions(this.#o.url, timeoutMs));
    for (const [name, numberOfKeys, lua] of SCRIPTS) client.defineCommand(name, { numberOfKeys, lua });
    client.on('error', (err: Error) => this.markDown('connection', err));
    client.on('close', () => this.markDown('connection', new Error('connection closed')));
    return client as FleetRedis;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through to a hard disconnect.
    }
  }
  client.disconnect();
}
