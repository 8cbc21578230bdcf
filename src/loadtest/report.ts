import type { Summary } from './types.ts';

/** What was loaded, printed with the summary. */
export interface LoadTarget {
  readonly url: string;
  readonly concurrency: number;
  readonly stream: boolean;
}

/** The `--json` document: the target, then every {@link Summary} field. */
export type LoadReport = LoadTarget & Summary;

/** Joins the target and the summary into the `--json` document. */
export function loadReport(target: LoadTarget, summary: Summary): LoadReport {
  return { url: target.url, concurrency: target.concurrency, stream: target.stream, ...summary };
}

/** A latency in ms with 2 decimals below 10 ms, 1 below 1 s, none above. */
function ms(n: number): string {
  return n < 10 ? n.toFixed(2) : n < 1000 ? n.toFixed(1) : n.toFixed(0);
}

/** Rows of cells aligned in columns; the columns in `right` are right-aligned. */
function table(rows: readonly (readonly string[])[], right: ReadonlySet<number>): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

const LABEL = 15;
const section = (label: string, lines: readonly string[]): string[] =>
  lines.length === 0
    ? [`${label.padEnd(LABEL)}none`]
    : lines.map((l, i) => (i === 0 ? label.padEnd(LABEL) : ' '.repeat(LABEL)) + l);

/**
 * The readable summary of a run, e.g.
 *
 * ```text
 * POST http://127.0.0.1:15001/v1/chat/completions  concurrency 6, stream
 * requests       60 in 0.21 s, 285.7 req/s
 * responses      60 (60 ok, 0 errors)
 * by tier        ollama-cpu  60  100.0 %
 * by status      200  60
 * errors         none
 * latency ms     p50 3.21  p90 5.02  p99 9.80  max 10.4
 * first byte ms  p50 1.20  p99 3.40
 * ```
 */
export function formatSummary(target: LoadTarget, s: Summary): string {
  const out = [
    `POST ${target.url}  concurrency ${target.concurrency}${target.stream ? ', stream' : ''}`,
    `${'requests'.padEnd(LABEL)}${s.requests} in ${(s.durationMs / 1000).toFixed(2)} s, ${s.requestsPerSecond} req/s`,
    `${'responses'.padEnd(LABEL)}${s.responses} (${s.ok} ok, ${s.errors} error${s.errors === 1 ? '' : 's'})`,
    ...section(
      'by tier',
      table(
        Object.entries(s.byTier).map(([t, c]) => [t, String(c.count), `${c.pct.toFixed(1)} %`]),
        new Set([1, 2]),
      ),
    ),
    ...section(
      'by status',
      table(
        Object.entries(s.byStatus).map(([k, n]) => [k, String(n)]),
        new Set([1]),
      ),
    ),
    ...section(
      'errors',
      table(
        Object.entries(s.errorsByKind).map(([k, n]) => [k, String(n)]),
        new Set([1]),
      ),
    ),
  ];
  const l = s.latencyMs;
  out.push(
    `${'latency ms'.padEnd(LABEL)}` +
      (l === null ? 'none' : `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}`),
  );
  const f = s.firstByteMs;
  if (f !== null) out.push(`${'first byte ms'.padEnd(LABEL)}p50 ${ms(f.p50)}  p99 ${ms(f.p99)}`);
  return out.join('\n') + '\n';
}
