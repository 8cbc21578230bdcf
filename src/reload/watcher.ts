import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Clock, TimerHandle } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';

/** Default quiet time after the last directory event before acting: one volume swap is several events. */
export const DEFAULT_DEBOUNCE_MS = 200;
/** Default period of the polling fallback (for volumes where inotify events never arrive). */
export const DEFAULT_POLL_INTERVAL_MS = 10_000;

/** What every watch is told: timing, where to log, what to call. */
interface WatchCallbacks {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default {@link DEFAULT_DEBOUNCE_MS} (200 ms). */
  readonly debounceMs?: number;
  /** Default {@link DEFAULT_POLL_INTERVAL_MS} (10 s); 0 disables polling. */
  readonly pollIntervalMs?: number;
  /** Called after a burst of directory events has settled, and on every poll; the caller compares contents. */
  readonly onTrigger: (trigger: 'watch' | 'poll') => void;
  /** Called for every raw directory event, before the debounce (tests). */
  readonly onEvent?: (eventType: string, filename: string | null) => void;
}

/** Options of `new DirectoryWatch(...)`. */
export interface DirectoryWatchOptions extends WatchCallbacks {
  /** Files whose directories are watched. */
  readonly files: readonly string[];
  /** What the files are, for the log (`policy`, `certificate`). */
  readonly what: string;
}

/** Options of `new PolicyWatcher(...)`. */
export interface PolicyWatcherOptions extends WatchCallbacks {
  /** The policy file; its directory is watched. */
  readonly file: string;
}

/**
 * Watches the DIRECTORIES of some files, not the files: a ConfigMap or Secret volume updates by
 * swapping the `..data` symlink (`..data_tmp` renamed over it; cert-manager's renewals land that
 * way), so a watch on a file itself goes quiet after the first swap. Every event restarts a
 * debounce; when it settles, `onTrigger` runs once. A slow poll runs alongside (callers skip
 * unchanged bytes). Timers come from the Clock and are unref'd with the system clock; the watch
 * never holds the process open. One class serves the policy reloader and the webhook's
 * certificate reload.
 */
export class DirectoryWatch {
  readonly #o: DirectoryWatchOptions;
  readonly #dirs: readonly string[];
  readonly #watchers: FSWatcher[] = [];
  #debounce: TimerHandle | null = null;
  #poll: TimerHandle | null = null;
  #closed = false;

  constructor(options: DirectoryWatchOptions) {
    this.#o = options;
    this.#dirs = [...new Set(options.files.map((f) => dirname(resolve(f))))];
  }

  /** The watched directories. */
  get directories(): readonly string[] {
    return this.#dirs;
  }

  /** Starts watching and polling. A directory that cannot be watched is left to the poll, with a warning. */
  start(): void {
    const what = this.#o.what;
    for (const dir of this.#dirs) {
      try {
        const w = watch(dir, { persistent: false }, this.#onEvent);
        w.on('error', (err) => {
          this.#o.logger.warn({ err, dir }, `${what} directory watch failed; polling only`);
          w.close();
        });
        this.#watchers.push(w);
      } catch (err) {
        this.#o.logger.warn({ err, dir }, `cannot watch the ${what} directory; polling only`);
      }
    }
    this.#schedulePoll();
  }

  /** Stops every watch and timer. */
  close(): void {
    this.#closed = true;
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
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

/** The policy file's directory watch (the reloader compares contents by sha256). */
export class PolicyWatcher extends DirectoryWatch {
  constructor(options: PolicyWatcherOptions) {
    super({ ...options, files: [options.file], what: 'policy' });
  }

  /** The watched directory. */
  get directory(): string {
    return this.directories[0]!;
  }
}
