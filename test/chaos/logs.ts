import type { LoggedChild, LogLine } from './process.ts';

/** pino levels. */
export const WARN = 40;
export const ERROR = 50;

/**
 * An explanation for log lines at warn level or above: the lines it accepts, and whether the
 * suite caused them (a rejected reload is explained only when the suite wrote that bad file).
 */
export interface Explanation {
  readonly name: string;
  accepts(line: LogLine): boolean;
}

/** Explanations of warn lines every suite may produce: breaker moves and cache store outages. */
export const ROUTINE_WARNINGS: readonly Explanation[] = [
  { name: 'breaker transition', accepts: (l) => /^breaker \S+ \S+ -> \S+$/.test(String(l.msg)) },
  { name: 'cache breaker opened', accepts: (l) => String(l.msg).startsWith('cache breaker opened') },
  { name: 'cache store lost', accepts: (l) => String(l.msg).startsWith('cache store connection lost') },
  { name: 'cache store error', accepts: (l) => String(l.msg).startsWith('cache store error') },
  {
    name: 'breaker reset by an operator',
    accepts: (l) => /^breaker \S+ reset via admin API$/.test(String(l.msg)),
  },
];

/** A rejected reload whose file had one of the given sha256 (files the suite wrote on purpose). */
export function rejectedReloadOf(badSha256: ReadonlySet<string>): Explanation {
  return {
    name: 'reload of a bad policy rejected',
    accepts: (l) =>
      l.level === ERROR &&
      String(l.msg).startsWith('policy reload rejected') &&
      typeof l.sha256 === 'string' &&
      badSha256.has(l.sha256),
  };
}

export interface LogReport {
  /** Lines at warn or above, counted by explanation name (or `unexplained`). */
  readonly counts: Record<string, number>;
  /** Lines at warn level or above that no explanation accepts. */
  readonly unexplained: readonly LogLine[];
  /** stdout lines that are not JSON (a crash trace, a stray print). */
  readonly stray: readonly string[];
  readonly stderr: string;
}

/** Classifies what a child printed: every line at warn or above must be explained. */
export function classifyLogs(child: LoggedChild, explanations: readonly Explanation[]): LogReport {
  const counts: Record<string, number> = {};
  const unexplained: LogLine[] = [];
  for (const line of child.lines) {
    if ((line.level ?? 0) < WARN) continue;
    const e = explanations.find((x) => x.accepts(line));
    if (e === undefined) unexplained.push(line);
    const key = e?.name ?? 'unexplained';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return { counts, unexplained, stray: child.stray, stderr: child.stderr() };
}
