import { parseCommand, parseRecovery, parseReport, type FleetCommand } from './messages.ts';
import type { FleetKeys } from './keys.ts';
import type { FleetPipeline, FleetRedis } from './store.ts';

/** Most pods and budget leases `GET /fleet` lists (the most recently heard first). */
export const MAX_VIEW_ENTRIES = 1_000;

/** One pod's view of one upstream, as it wrote it in its last heartbeat. */
export interface PodUpstreamView {
  readonly state: string;
  /** When its breaker entered that state (ISO-8601). */
  readonly since: string;
  readonly trip_reason: string | null;
  /** Its breaker is open because the group opened it. */
  readonly fleet_opened: boolean;
  readonly consecutive_failures: number;
  /** What it knows of the group's judgement: `open`, `forced_open` or `closed`. */
  readonly group_state: 'open' | 'forced_open' | 'closed';
  /** It holds the upstream's probe lease. */
  readonly probe_lease: boolean;
  /** Budget leases it holds. */
  readonly budget_leases: number;
}

/** One pod of the group. */
export interface PodView {
  readonly pod: string;
  /** When the store last heard from it (ISO-8601). */
  readonly last_heard: string;
  readonly upstreams: Readonly<Record<string, PodUpstreamView>>;
}

/** The group's judgement of one upstream. */
export interface GroupUpstreamView {
  /** `open` (the group holds it open), `forced_open` (an operator's fleet-wide open) or `closed`. */
  readonly state: 'open' | 'forced_open' | 'closed';
  /** Since when (ISO-8601); null while closed. */
  readonly since: string | null;
  /** The fleet trip reason, or who forced it; null while closed. */
  readonly reason: string | null;
  /** Pods reporting it failing since the group's last success. */
  readonly failing: ReadonlyArray<{ pod: string; failures: number; tripped: boolean; last: string | null }>;
  /** The group's last recovery (a prober closed it), kept as long as an open period lasts at most; null when none. */
  readonly last_recovery: { readonly at: string; readonly pod: string; readonly reason: string } | null;
}

/** A lease in force: the probe lease of an upstream, or one budget lease. */
export interface LeaseView {
  readonly kind: 'probe' | 'budget';
  readonly upstream: string;
  readonly pod: string;
  /** Budget lease id (`pod#n`); null for a probe lease. */
  readonly id: string | null;
  readonly expires_at: string;
}

/** `GET /fleet`. */
export interface FleetView {
  readonly group: string;
  /** The pod that answered. */
  readonly pod: string;
  readonly store: 'connected' | 'down';
  readonly store_since: string;
  readonly quorum: number;
  readonly window_ms: number;
  /** True when the store is down and this is the last view read (or only this pod's own). */
  readonly stale: boolean;
  readonly pods: readonly PodView[];
  readonly upstreams: Readonly<Record<string, GroupUpstreamView>>;
  readonly leases: readonly LeaseView[];
}

type Base = Pick<FleetView, 'group' | 'pod' | 'store' | 'store_since' | 'quorum' | 'window_ms'>;
type Reply = [Error | null, unknown][];

const iso = (ms: number): string => new Date(ms).toISOString();

function json(v: unknown): unknown {
  if (typeof v !== 'string') return null;
  try {
    return JSON.parse(v);
  } catch {
    return null;
  }
}

function pairs(flat: unknown): [string, number][] {
  const a = Array.isArray(flat) ? (flat as unknown[]) : [];
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < a.length; i += 2) out.push([String(a[i]), Number(a[i + 1])]);
  return out;
}

function ok(results: Reply | null): Reply {
  const failed = results?.find(([e]) => e !== null);
  if (!results || failed !== undefined) throw failed?.[0] ?? new Error('no reply');
  return results;
}

/**
 * Reads the whole group from the store in two round trips (admin path only): members, each
 * pod's last heartbeat view, each upstream's group state, failure reports and leases.
 */
export async function readFleetView(
  redis: FleetRedis,
  k: FleetKeys,
  upstreams: readonly string[],
  base: Base,
): Promise<FleetView> {
  const p = redis.pipeline() as FleetPipeline;
  p.time().zrevrange(k.pods, 0, MAX_VIEW_ENTRIES - 1, 'WITHSCORES');
  for (const u of upstreams) {
    p.get(k.open(u)).get(k.forced(u)).hgetall(k.streak(u)).get(k.probe(u)).pttl(k.probe(u));
    p.get(k.recovered(u));
    p.zrange(k.budget(u), 0, String(MAX_VIEW_ENTRIES - 1), 'WITHSCORES');
  }
  const r = ok(await p.exec());
  const time = r[0]![1] as [string, string];
  const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const members = pairs(r[1]![1]);
  const views =
    members.length === 0 ? [] : ((await redis.mget(members.map(([id]) => k.pod(id)))) as unknown[]);
  const pods = members.map(([id, heardMs], i) => podView(id, heardMs, json(views[i])));
  const groups: Record<string, GroupUpstreamView> = {};
  const leases: LeaseView[] = [];
  upstreams.forEach((u, i) => {
    const at = 2 + 7 * i;
    const [open, forced, streak, probe, pttl, recovered, budget] = r.slice(at, at + 7).map(([, v]) => v);
    const rec = parseRecovery(json(recovered));
    groups[u] = {
      ...groupView(json(open), parseCommand(json(forced)), streak),
      last_recovery: rec === null ? null : { at: iso(rec.at), pod: rec.pod, reason: rec.reason },
    };
    if (typeof probe === 'string' && typeof pttl === 'number' && pttl > 0) {
      leases.push({ kind: 'probe', upstream: u, pod: probe, id: null, expires_at: iso(nowMs + pttl) });
    }
    for (const [id, expiry] of pairs(budget)) {
      if (expiry <= nowMs) continue;
      leases.push({
        kind: 'budget',
        upstream: u,
        pod: id.slice(0, id.lastIndexOf('#')),
        id,
        expires_at: iso(expiry),
      });
    }
  });
  return { ...base, stale: false, pods, upstreams: groups, leases };
}

function podView(id: string, heardMs: number, raw: unknown): PodView {
  const ups = (raw as { upstreams?: unknown } | null)?.upstreams;
  const upstreams = typeof ups === 'object' && ups !== null ? (ups as Record<string, PodUpstreamView>) : {};
  return { pod: id, last_heard: iso(heardMs), upstreams };
}

function groupView(
  open: unknown,
  forced: FleetCommand | null,
  streak: unknown,
): Omit<GroupUpstreamView, 'last_recovery'> {
  const failing: GroupUpstreamView['failing'][number][] = [];
  if (typeof streak === 'object' && streak !== null) {
    for (const [pod, raw] of Object.entries(streak as Record<string, unknown>)) {
      const r = parseReport(pod, json(raw));
      if (r !== null) failing.push({ pod, failures: r.n, tripped: r.trip, last: r.last });
    }
  }
  if (forced !== null) {
    const reason = `forced open for the fleet by ${forced.by} via ${forced.via}${forced.reason ? `: ${forced.reason}` : ''}`;
    return { state: 'forced_open', since: iso(forced.at), reason, failing };
  }
  const o = open as { since?: unknown; reason?: unknown } | null;
  if (o !== null && typeof o === 'object' && typeof o.since === 'number' && typeof o.reason === 'string') {
    return { state: 'open', since: iso(o.since), reason: o.reason, failing };
  }
  return { state: 'closed', since: null, reason: null, failing };
}
