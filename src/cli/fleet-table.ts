import type { FleetView } from '../fleet/index.ts';
import { formatDuration } from '../policy/index.ts';
import { columns } from './columns.ts';

function ago(iso: string | null, nowMs: number): string {
  if (iso === null) return '-';
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  return `${s} s ago`;
}

function until(iso: string, nowMs: number): string {
  return `in ${Math.max(0, Math.ceil((Date.parse(iso) - nowMs) / 1000))} s`;
}

/**
 * `breakwater status --fleet`: the group and its store, the group's judgement of each upstream,
 * each pod's view of each upstream (state, since, trip reason, last heard), the leases in force.
 */
export function formatFleetTable(view: FleetView, nowMs: number): string {
  const out: string[] = [
    `group ${view.group}  store ${view.store} (since ${ago(view.store_since, nowMs)})  quorum ${view.quorum}  ` +
      `window ${formatDuration(view.window_ms)}  answered by ${view.pod}${view.stale ? '  (stale: last view read)' : ''}`,
    '',
  ];
  const groups = Object.entries(view.upstreams).map(([name, g]) => {
    // Closed after a recovery: say who closed it and when (kept while an open period could last).
    const r = g.last_recovery;
    const closed = g.state === 'closed' && r !== null ? `recovered ${ago(r.at, nowMs)}: ${r.reason}` : null;
    return [
      name,
      g.state,
      ago(g.since, nowMs),
      g.failing.length === 0 ? '-' : g.failing.map((f) => `${f.pod} ${f.failures}`).join(', '),
      g.reason ?? closed ?? '-',
    ];
  });
  out.push(...columns(['UPSTREAM', 'GROUP', 'SINCE', 'FAILING', 'REASON'], groups), '');
  const pods: string[][] = [];
  for (const p of view.pods) {
    for (const [name, u] of Object.entries(p.upstreams)) {
      const leases = [u.probe_lease ? 'probe' : '', u.budget_leases > 0 ? `budget ${u.budget_leases}` : '']
        .filter((x) => x !== '')
        .join(', ');
      pods.push([
        p.pod,
        ago(p.last_heard, nowMs),
        name,
        u.state,
        ago(u.since, nowMs),
        u.fleet_opened ? 'fleet' : '-',
        leases === '' ? '-' : leases,
        u.trip_reason ?? '-',
      ]);
    }
  }
  const podHead = ['POD', 'LAST HEARD', 'UPSTREAM', 'STATE', 'SINCE', 'OPENED BY', 'LEASES', 'TRIP REASON'];
  out.push(...(pods.length === 0 ? ['no pods heard'] : columns(podHead, pods)), '');
  const leases = view.leases.map((l) => [l.kind, l.upstream, l.pod, l.id ?? '-', until(l.expires_at, nowMs)]);
  out.push(
    ...(leases.length === 0 ? ['no leases'] : columns(['LEASE', 'UPSTREAM', 'POD', 'ID', 'EXPIRES'], leases)),
  );
  return out.join('\n') + '\n';
}
