import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Clock, TimerHandle } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';

/** Default quiet time after the last directory event before reloading: one ConfigMap swap is several events. */
export const DEFAULT_DEBOUNCE_MS = 200;
/** Default period of the polling fallback (for volumes where inotify events never arrive). */
export const DEFAULT_POLL_INTERVAL_MS = 10_000;

/** Options of `new PolicyWatcher(...)`. */
export interface PolicyWatcherOptions {
  /** The policy file; its directory is watched. */
  readonly file: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default {@link DEFAULT_DEBOUNCE_MS} (200 ms). */
  readonly debounceMs?: number;
  /** Default {@link DEFAULT_POLL_INTERVAL_MS} (10 s); 0 disables polling. */
  readonly pollIntervalMs?: number;
  /** Called after a burst of directory events has settled, and on every poll. */
  readonly onTrigger: (trigger: 'watch' | 'poll') => void;
  /** Called for every raw directory event, before the debounce (tests). */
  readonly onEvent?: (eventType: string, filename: string | null) => void;
}

/**
 * Watches the policy file's DIRECTORY, not the file: a ConfigMap volume updates by swapping the
 * `..data` symlink (`..data_tmp` renamed over it), so a watch on the file itself goes quiet after
 * the first swap. Every event in the directory restarts a debounce; when it settles, `onTrigger`
 * runs once. A slow poll runs alongside (the reloader skips unchanged bytes by sha256).
 * Timers come from the Clock and are unref'd with the system clock; the watch never holds the
 * process open.
 */
export class PolicyWatcher {
  readonly #o: PolicyWatcherOptions;
  readonly #dir: string;
  #watcher: FSWatcher | null = null;
  #debounce: TimerHandle | null = null;
  #poll: TimerHandle | null = null;
  #closed = false;

  constructor(options: PolicyWatcherOptions) {
    this.#o = options;
    this.#dir = dirname(resolve(options.file));
  }

  /** The watched directory. */
  get directory(): string {
    return this.#dir;
  }

  /** Starts watching and polling. A directory that cannot be watched leaves polling alone, with a warning. */
  start(): void {
    try {
      this.#watcher = watch(this.#dir, { persistent: false }, this.#onEvent);
      this.#watcher.on('error', (err) => {
        this.#o.logger.warn({ err, dir: this.#dir }, 'policy directory watch failed; polling only');
        this.#watcher?.close();
        this.#watcher = null;
      });
    } catch (err) {
      this.#o.logger.warn({ err, dir: this.#dir }, 'cannot watch the policy directory; polling only');
    }
    this.#schedulePoll();
  }

  /** Stops the watch and every timer. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = null;
    const clock = this.#o.clock;
    if (this.#debounce !== null) clock.clearTimeout(this.#debounce);
    if (this.#poll !== null) clock.clearTimeout(this.#poll);
    this.#debounce = null;
    this.#poll = null;
  }

  readonly #onEvent = (eventType: string, filename: string | Buffer | null): void => {
    if (this.#closed) return;
    this.#o.onEvent?.(eventType, filename === null ? null : String(filename));
    const clock = this.#o.clock;
    if (this.#debounce !== null) clock.clearTimeout(this.#debounce);
    this.#debounce = clock.setTimeout(() => {
      this.#debounce = null;
      if (!this.#closed) this.#o.onTrigger('watch');
    }, this.#o.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  };

  #schedulePoll(): void {
    const intervalMs = this.#o.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    if (intervalMs <= 0 || this.#closed) return;
    this.#poll = this.#o.clock.setTimeout(() => {
      this.#poll = null;
      if (this.#closed) return;
      this.#o.onTrigger('poll');
      this.#schedulePoll();
    }, intervalMs);
  }
}
