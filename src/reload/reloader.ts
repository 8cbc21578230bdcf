import { createHash } from 'node:crypto';
import type { Clock } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';
import type { Metrics } from '../metrics/index.ts';
import {
  formatListenAddress,
  readPolicyBytes,
  type ListenPolicy,
  type Policy,
  type PolicyProblem,
} from '../policy/index.ts';

/** What asked for a reload. */
export const ReloadTrigger = {
  /** A change seen in the policy file's directory (after the debounce). */
  WATCH: 'watch',
  /** The slow polling fallback. */
  POLL: 'poll',
  /** `SIGHUP`: always re-reads and re-validates, even when the bytes did not change. */
  SIGNAL: 'signal',
} as const;
export type ReloadTrigger = (typeof ReloadTrigger)[keyof typeof ReloadTrigger];

export const ReloadOutcome = {
  APPLIED: 'applied',
  /** Same bytes as the active policy, or as a file already rejected: nothing done. */
  UNCHANGED: 'unchanged',
  FAILED: 'failed',
} as const;
export type ReloadOutcome = (typeof ReloadOutcome)[keyof typeof ReloadOutcome];

/** The last rejected reload, as `GET /config` shows it. */
export interface ReloadFailure {
  /** When it was rejected, ISO-8601. */
  readonly at: string;
  readonly trigger: ReloadTrigger;
  readonly file: string;
  /** sha256 of the rejected bytes; null when the file could not be read. */
  readonly sha256: string | null;
  /** Every problem, one per line, each `FILE:LINE:COL: KEY.PATH: message`. */
  readonly message: string;
  readonly problems: readonly PolicyProblem[];
}

export interface ReloadResult {
  readonly outcome: ReloadOutcome;
  readonly trigger: ReloadTrigger;
  /** sha256 of the active policy after this reload. */
  readonly sha256: string;
  /** Set when the outcome is `failed`. */
  readonly error: ReloadFailure | null;
}

/** Options of `new PolicyReloader(...)`. */
export interface PolicyReloaderOptions {
  /** The policy file (absolute path, `policy.source.file`). */
  readonly file: string;
  /**
   * Reads, validates and compiles the file (throws a `PolicyError`). `signal` aborts when the
   * reloader closes (`breakwater run` parses in a worker thread and ends it then).
   */
  readonly load: (file: string, signal: AbortSignal) => Promise<Policy>;
  /** The active policy. */
  readonly current: () => Policy;
  /** Makes `policy` active (one reference swap). */
  readonly apply: (policy: Policy) => void;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Called after every reload attempt (tests). */
  readonly onResult?: (result: ReloadResult) => void;
}

/**
 * What the file holds now, to skip reloads of bytes already judged: their sha256, or the reason
 * they cannot be read (a FIFO, a missing file), so an unreadable file is reported once too.
 * Read with the loader's own bounds: a regular file only, at most the size limit.
 */
async function fingerprint(file: string): Promise<{ key: string; sha256: string | null }> {
  try {
    const sha256 = createHash('sha256')
      .update(await readPolicyBytes(file))
      .digest('hex');
    return { key: sha256, sha256 };
  } catch (err) {
    return { key: `unreadable:${(err as Error).message}`, sha256: null };
  }
}

function listenText(l: ListenPolicy): Record<string, string> {
  return {
    proxy: l.proxy.map(formatListenAddress).join(','),
    admin: formatListenAddress(l.admin),
    health: formatListenAddress(l.health),
  };
}

/**
 * Validates a changed policy file and swaps it in (docs/operations.md#policy-reload). A bad file is rejected whole: the
 * last good policy stays, the error is logged once and kept for `/config`, and
 * `breakwater_config_reloads_total{result="failure"}` rises. A good one counts `result="success"`
 * and logs one line (old sha → new sha). Attempts run one at a time, in order. Listener addresses
 * cannot move without a restart: a change is logged, not applied.
 */
export class PolicyReloader {
  readonly #o: PolicyReloaderOptions;
  #queue: Promise<unknown> = Promise.resolve();
  /** Fingerprint of the last file judged (applied or rejected), so the same bad file is reported once. */
  #lastSeen: string;
  #lastError: ReloadFailure | null = null;
  readonly #closing = new AbortController();

  constructor(options: PolicyReloaderOptions) {
    this.#o = options;
    this.#lastSeen = options.current().source.sha256;
  }

  /** The last rejected reload; null once a good policy is in force again. */
  get lastError(): ReloadFailure | null {
    return this.#lastError;
  }

  /** Ends a reload in progress (its parse) and makes later ones do nothing. */
  close(): void {
    this.#closing.abort();
  }

  /** Re-reads the file; never rejects. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const next = this.#queue.then(() => this.#attempt(trigger));
    this.#queue = next;
    return next;
  }

  async #attempt(trigger: ReloadTrigger): Promise<ReloadResult> {
    const result = await this.#run(trigger);
    this.#o.onResult?.(result);
    return result;
  }

  async #run(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { file, logger } = this.#o;
    const active = this.#o.current();
    const unchanged = {
      outcome: ReloadOutcome.UNCHANGED,
      trigger,
      sha256: active.source.sha256,
      error: null,
    };
    if (this.#closing.signal.aborted) return unchanged;
    const seen = await fingerprint(file);
    if (trigger !== ReloadTrigger.SIGNAL && seen.key === this.#lastSeen) return unchanged;
    if (logger.isLevelEnabled('debug'))
      logger.debug({ trigger, file, sha256: seen.sha256 }, 'validating the policy file');
    let policy: Policy;
    try {
      policy = await this.#o.load(file, this.#closing.signal);
      if (this.#closing.signal.aborted) return unchanged;
      if (policy.source.sha256 !== active.source.sha256) this.#o.apply(policy);
    } catch (err) {
      if (this.#closing.signal.aborted) return unchanged;
      return this.#fail(trigger, active, seen, err);
    }
    this.#lastSeen = policy.source.sha256;
    this.#lastError = null;
    if (policy.source.sha256 === active.source.sha256) {
      if (logger.isLevelEnabled('debug')) logger.debug({ trigger, file }, 'policy unchanged');
      return { outcome: ReloadOutcome.UNCHANGED, trigger, sha256: active.source.sha256, error: null };
    }
    this.#o.metrics.configReloads.inc({ result: 'success' });
    logger.info(
      { trigger, file, from: active.source.sha256, to: policy.source.sha256 },
      `policy reloaded ${active.source.sha256.slice(0, 12)} -> ${policy.source.sha256.slice(0, 12)}`,
    );
    this.#warnListenChanges(active.listen, policy.listen);
    return { outcome: ReloadOutcome.APPLIED, trigger, sha256: policy.source.sha256, error: null };
  }

  #fail(
    trigger: ReloadTrigger,
    active: Policy,
    seen: { key: string; sha256: string | null },
    err: unknown,
  ): ReloadResult {
    const e = err as Error & { problems?: readonly PolicyProblem[] };
    const failure: ReloadFailure = {
      at: new Date(this.#o.clock.now()).toISOString(),
      trigger,
      file: this.#o.file,
      sha256: seen.sha256,
      message: e.message,
      problems: e.problems ?? [],
    };
    this.#lastSeen = seen.key;
    this.#lastError = failure;
    this.#o.metrics.configReloads.inc({ result: 'failure' });
    this.#o.logger.error(
      {
        trigger,
        file: this.#o.file,
        sha256: seen.sha256,
        active: active.source.sha256,
        problems: failure.problems,
      },
      `policy reload rejected, keeping ${active.source.sha256.slice(0, 12)}:\n${e.message}`,
    );
    return { outcome: ReloadOutcome.FAILED, trigger, sha256: active.source.sha256, error: failure };
  }

  #warnListenChanges(before: ListenPolicy, after: ListenPolicy): void {
    const a = listenText(before);
    const b = listenText(after);
    for (const key of Object.keys(a)) {
      if (a[key] !== b[key]) {
        this.#o.logger.warn(
          { key: `listen.${key}`, active: a[key], configured: b[key] },
          `listen.${key} changed to ${b[key]}: listeners move only on restart (still on ${a[key]})`,
        );
      }
    }
  }
}
