import type { ChildProcess } from 'node:child_process';

/** Reads lines of a child's stdout until `pick` returns a value; rejects after `limitMs` or when the child exits first. */
export function firstLine<T>(
  child: ChildProcess,
  pick: (line: string) => T | null,
  limitMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('child did not report in time')), limitMs);
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const v = pick(line);
        if (v !== null) {
          clearTimeout(timer);
          resolve(v);
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
}

/** {@link firstLine} over the child's JSON lines (other lines are skipped). */
export function firstJsonLine<T>(
  child: ChildProcess,
  pick: (rec: Record<string, unknown>) => T | null,
  limitMs = 15_000,
): Promise<T> {
  return firstLine(
    child,
    (l) => (l.startsWith('{') ? pick(JSON.parse(l) as Record<string, unknown>) : null),
    limitMs,
  );
}
