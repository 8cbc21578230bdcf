import { BreakwaterError, ErrorCode } from '../errors/index.ts';

/** One thing wrong with a policy file, with its position in the file. */
export interface PolicyProblem {
  /** The file as named by the caller, or `<inline>` for text without a file. */
  readonly file: string;
  /** 1-based line; null when the problem has no position (an unreadable file). */
  readonly line: number | null;
  /** 1-based column; null when the problem has no position. */
  readonly column: number | null;
  /** Key path (`upstreams.max-gpu.breaker.failureThreshold`, `routes[0].chain[1].upstream`); `''` for YAML syntax errors. */
  readonly path: string;
  /** What is wrong: `expected ..., got ...`, or `unknown key (did you mean ...?)`. */
  readonly message: string;
}

/** Formats a problem as one line: `FILE:LINE:COL: KEY.PATH: message`. */
export function formatProblem(p: PolicyProblem): string {
  const where = p.line === null ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  return p.path === '' ? `${where}: ${p.message}` : `${where}: ${p.path}: ${p.message}`;
}

/**
 * A policy that could not be loaded. `code` is `BW_ERR_POLICY_INVALID` (parse or validation) or
 * `BW_ERR_POLICY_UNREADABLE` (the file could not be read); status 500. The message lists every
 * problem found, one per line (see `formatProblem`); `problems` holds them structured.
 */
export class PolicyError extends BreakwaterError {
  readonly problems: readonly PolicyProblem[];

  constructor(
    code: typeof ErrorCode.POLICY_INVALID | typeof ErrorCode.POLICY_UNREADABLE,
    problems: readonly PolicyProblem[],
    options?: { cause?: unknown },
  ) {
    super(code, problems.map(formatProblem).join('\n'), options);
    this.name = 'PolicyError';
    this.problems = Object.freeze([...problems]);
  }
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The known key closest to `key` (case-insensitive edit distance ≤ ⅓ of its length, at least 1), or null. */
export function closestKey(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    // The distance is at least the difference in length: a long key costs nothing to rule out.
    if (Math.abs(candidate.length - key.length) >= bestDistance) continue;
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `unknown key`, with a suggestion when a known key is close: `unknown key (did you mean failureThreshold?)`. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = closestKey(key, known);
  return near === null
    ? `unknown key (expected one of ${known.join(', ')})`
    : `unknown key (did you mean ${near}?)`;
}

/** Describes a received value for `got ...` (strings quoted and cut at 60 characters). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (required)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty mapping' : 'a mapping';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
