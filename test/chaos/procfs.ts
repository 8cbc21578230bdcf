import { readFile, readdir, readlink } from 'node:fs/promises';

/** Resident set size of `pid` in MiB (`VmRSS` of /proc/PID/status). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib) / 1024;
}

/** Open file descriptors of `pid` by kind: socket, pipe, anon_inode:[eventpoll], file, … */
export async function fdKinds(pid: number): Promise<Record<string, number>> {
  const dir = `/proc/${pid}/fd`;
  const out: Record<string, number> = {};
  for (const fd of await readdir(dir)) {
    let target: string;
    try {
      target = await readlink(`${dir}/${fd}`);
    } catch {
      continue; // closed while listing
    }
    const kind = target.startsWith('/')
      ? 'file'
      : target.startsWith('anon_inode:')
        ? target
        : target.replace(/:\[\d+\]$/, '');
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

/** Prometheus text → `name{labels}` → value (the sidecar's `/metrics`). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

export async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`GET ${url}/metrics: ${res.status}`);
  return parseMetrics(await res.text());
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
