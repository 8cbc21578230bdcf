import type { FailureReport } from './messages.ts';

/** How the group judges an upstream (docs/fleet.md). */
export interface QuorumRule {
  /** Distinct pods that must report the upstream failing (`fleet.quorum`). */
  readonly quorum: number;
  /** The upstream's `breaker.failureThreshold`: what one pod's streak counts for at most. */
  readonly failureThreshold: number;
}

/** Pods named in a fleet trip reason; the rest are counted. */
const NAMED_PODS = 5;
/** Longest failure description quoted per pod, characters. */
const LAST_CHARS = 120;

/**
 * The group's failure streak on one upstream: each pod's latest report since the last success
 * any pod saw, within `fleet.window`. Time is Redis time (from the reports), so pods' clocks
 * need not agree.
 */
export class StreakBoard {
  readonly #windowMs: number;
  readonly #reports = new Map<string, FailureReport>();
  #latestAt = 0;

  /** @param windowMs how long a report counts (`fleet.window`). */
  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Reports in force, pods with the longest streak first. */
  get reports(): FailureReport[] {
    return [...this.#reports.values()].sort((a, b) => b.n - a.n || a.pod.localeCompare(b.pod));
  }

  get size(): number {
    return this.#reports.size;
  }

  /** A pod's new report replaces its previous one; reports older than the window go. */
  add(report: FailureReport): void {
    this.#reports.set(report.pod, report);
    this.#prune(report.at);
  }

  /** Replaces every report with what the store holds (`nowAt`: Redis time of the read). */
  replace(reports: readonly FailureReport[], nowAt: number): void {
    this.#reports.clear();
    for (const r of reports) this.#reports.set(r.pod, r);
    this.#prune(nowAt);
  }

  /** A success somewhere in the group ended the streak. */
  clear(): void {
    this.#reports.clear();
  }

  #prune(nowAt: number): void {
    this.#latestAt = Math.max(this.#latestAt, nowAt);
    for (const [pod, r] of this.#reports) {
      if (this.#latestAt - r.at > this.#windowMs) this.#reports.delete(pod);
    }
  }
}

/**
 * Whether the group opens the upstream, and why: at least `quorum` distinct pods report it
 * failing, and together their streaks (each counted up to `failureThreshold`) reach what
 * `quorum` pods tripping would take, `quorum × failureThreshold`. One pod's failures alone never
 * open it for the others (unless `quorum` is 1), and neither do failures other pods' successes
 * interleave with (a success ends the streak). Returns the trip reason, or null.
 */
export function judgeStreak(
  upstream: string,
  reports: readonly FailureReport[],
  rule: QuorumRule,
): string | null {
  if (reports.length < rule.quorum) return null;
  let counted = 0;
  for (const r of reports) counted += Math.min(r.n, rule.failureThreshold);
  if (counted < rule.quorum * rule.failureThreshold) return null;
  const named = reports.slice(0, NAMED_PODS).map(describeReport);
  const more = reports.length - named.length;
  return (
    `fleet: ${upstream} failing on ${reports.length} pods (quorum ${rule.quorum}), ` +
    `${counted} failures in a row: ${named.join('; ')}${more > 0 ? `; and ${more} more` : ''}`
  );
}

function describeReport(r: FailureReport): string {
  const notes: string[] = [];
  if (r.trip) notes.push('tripped');
  if (r.last !== null) notes.push(`last ${r.last.slice(0, LAST_CHARS)}`);
  return notes.length === 0 ? `${r.pod} ${r.n}` : `${r.pod} ${r.n} (${notes.join(', ')})`;
}
