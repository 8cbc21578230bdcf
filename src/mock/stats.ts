import type { IncomingHttpHeaders } from 'node:http';
import type { MockRequestRecord, MockStats } from './types.ts';

/** Per-request counters; the request path only bumps numbers and keeps references. */
export class StatsRecorder {
  #requests = 0;
  #faulted = 0;
  #byPath = new Map<string, number>();
  #last: MockRequestRecord | null = null;
  /** Requests on the API port whose response has not closed yet, and the most at once since the last reset. */
  #inflight = 0;
  #peakInflight = 0;
  /** Requests handed to their handler (body read), for `waitForRequests`. */
  #recorded = 0;
  #waiters: { count: number; resolve: (s: MockStats) => void }[] = [];

  /** Counts a request on `path`, in flight until `done()`. */
  count(path: string): void {
    this.#requests += 1;
    this.#byPath.set(path, (this.#byPath.get(path) ?? 0) + 1);
    this.#inflight += 1;
    if (this.#inflight > this.#peakInflight) this.#peakInflight = this.#inflight;
  }

  /** A counted request's response closed (answered, reset, or its client left). */
  done(): void {
    this.#inflight -= 1;
  }

  /** Counts a request a fault hit. */
  fault(): void {
    this.#faulted += 1;
  }

  /** Remembers the last request (headers and body by reference). */
  record(method: string, path: string, headers: IncomingHttpHeaders, body: unknown): void {
    this.#last = { method, path, headers, body };
    this.#recorded += 1;
    if (this.#waiters.length > 0) this.#wake();
  }

  /** Resolves once `count` requests have been recorded since the last reset. */
  waitFor(count: number): Promise<MockStats> {
    if (this.#recorded >= count) return Promise.resolve(this.snapshot());
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  #wake(): void {
    const due = this.#waiters.filter((w) => w.count <= this.#recorded);
    if (due.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.count > this.#recorded);
    const snap = this.snapshot();
    for (const w of due) w.resolve(snap);
  }

  reset(): void {
    this.#requests = 0;
    this.#faulted = 0;
    this.#byPath = new Map();
    this.#last = null;
    this.#recorded = 0;
    this.#peakInflight = this.#inflight;
  }

  /** A copy that later requests do not change. */
  snapshot(): MockStats {
    const byPath: Record<string, number> = {};
    for (const [p, n] of this.#byPath) byPath[p] = n;
    return {
      requests: this.#requests,
      faulted: this.#faulted,
      byPath,
      last: this.#last,
      inflight: this.#inflight,
      peakInflight: this.#peakInflight,
    };
  }
}
