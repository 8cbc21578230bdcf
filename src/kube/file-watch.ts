import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Clock, TimerHandle } from '../clock/index.ts';
import type { Logger } from '../log/index.ts';

/** Default quiet time after the last event before acting: one Secret or ConfigMap update is several events. */
export const FILE_DEBOUNCE_MS = 200;
/** Default period of the polling fallback (volumes whose updates raise no inotify event). */
export const FILE_POLL_INTERVAL_MS = 10_000;

/** Options of {@link FileWatch}. */
export interface FileWatchOptions {
  /** Files whose directories are watched. */
  readonly files: readonly string[];
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default {@link FILE_DEBOUNCE_MS}. */
  readonly debounceMs?: number;
  /** Default {@link FILE_POLL_INTERVAL_MS}; 0 disables polling. */
  readonly pollIntervalMs?: number;
  /** Called once a burst of events has settled, and on every poll; the caller compares contents. */
  readonly onTrigger: (trigger: 'watch' | 'poll') => void;
  /** Called for every raw event, before the debounce (tests). */
  readonly onEvent?: () => void;
}

/**
 * Watches the DIRECTORIES of some files: Secret and ConfigMap volumes update by swapping a
 * `..data` symlink (cert-manager's renewals land that way), so a watch on the file itself goes
 * quiet after the first swap. Events restart a debounce on the Clock; a slow poll runs alongside.
 * Nothing here holds the process open.
 */
export class FileWatch {
  readonly #o: FileWatchOptions;
  readonly #watchers: FSWatcher[] = [];
  #debounce: TimerHandle | null = null;
  #poll: TimerHandle | null = null;
  #closed = false;

  constructor(options: FileWatchOptions) {
    this.#o = options;
  }

  /** Starts watching and polling; a directory that cannot be watched is left to the poll, with a warning. */
  start(): void {
    for (const dir of new Set(this.#o.files.map((f) => dirname(resolve(f))))) {
      try {
        const w = watch(dir, { persistent: false }, this.#onEvent);
        w.on('error', (err) => {
          this.#o.logger.warn({ err, dir }, 'directory watch failed; polling only');
          w.close();
        });
        this.#watchers.push(w);
      } catch (err) {
        this.#o.logger.warn({ err, dir }, 'cannot watch directory; polling only');
      }
    }
    this.#schedulePoll();
  }

  /** Stops every watch and timer. */
  close(): void {
    this.#closed = true;
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
    if (this.#debounce !== null) this.#o.clock.clearTimeout(this.#debounce);
    if (this.#poll !== null) this.#o.clock.clearTimeout(this.#poll);
    this.#debounce = this.#poll = null;
  }

  readonly #onEvent = (): void => {
    if (this.#closed) return;
    this.#o.onEvent?.();
    if (this.#debounce !== null) this.#o.clock.clearTimeout(this.#debounce);
    this.#debounce = this.#o.clock.setTimeout(() => {
      this.#debounce = null;
      if (!this.#closed) this.#o.onTrigger('watch');
    }, this.#o.debounceMs ?? FILE_DEBOUNCE_MS);
  };

  #schedulePoll(): void {
    const intervalMs = this.#o.pollIntervalMs ?? FILE_POLL_INTERVAL_MS;
    if (intervalMs <= 0 || this.#closed) return;
    this.#poll = this.#o.clock.setTimeout(() => {
      this.#poll = null;
      if (this.#closed) return;
      this.#o.onTrigger('poll');
      this.#schedulePoll();
    }, intervalMs);
  }
}
