import { BreakerState } from '../breaker/index.ts';
import type { FleetContext } from './context.ts';
import type { UpstreamLink } from './link.ts';
import {
  parseCommand,
  parseRecovery,
  parseReport,
  type FailureReport,
  type FleetCommand,
  type FleetEvent,
} from './messages.ts';
import { judgeStreak } from './quorum.ts';

/** Acts on one event of the group's channel. */
export function onEvent(ctx: FleetContext, link: UpstreamLink, ev: FleetEvent): void {
  ctx.metrics.reportsReceived.labels({ upstream: ev.u, kind: ev.t }).inc();
  switch (ev.t) {
    case 'failing':
      link.board.add(ev.report);
      judge(ctx, link);
      return;
    case 'ok':
      link.board.clear();
      return;
    case 'recovered':
      if (ev.pod !== ctx.podId) closeForGroup(link, `fleet: ${ev.reason}`);
      return;
    case 'forced':
      applyForced(link, ev.command);
      return;
    case 'reset':
      applyReset(link, ev.command);
  }
}

/** Opens the upstream for the group when the reports in force reach the quorum (`judgeStreak`). */
export function judge(ctx: FleetContext, link: UpstreamLink): void {
  if (link.group !== null || link.forced !== null) return;
  const reports = link.board.reports;
  const reason = judgeStreak(link.name, reports, link.rule);
  if (reason === null) return;
  link.group = { since: Math.max(...reports.map((r) => r.at)), reason };
  link.applied = false;
  if (ctx.store.up) {
    // For pods that start later; every pod that judges writes it, the first one wins.
    ctx.store.sync
      .set(ctx.keys.open(link.name), JSON.stringify(link.group), 'PX', link.openTtlMs, 'NX')
      .catch((err: unknown) => ctx.store.markDown('report', err));
  }
  applyGroup(ctx, link);
}

/** Opens this pod's breaker once per group open period (a local reset then sticks). */
export function applyGroup(ctx: FleetContext, link: UpstreamLink): void {
  const b = link.breaker;
  if (link.group === null || link.applied || b === null) return;
  link.applied = true;
  if (!b.fleetOpen(link.group.reason)) return;
  link.fleetOpened = true;
  link.lastState = b.state;
  ctx.metrics.fleetOpens.labels({ upstream: link.name }).inc();
}

/** The group's open period ended (the prober closed, or it expired): this pod's breaker closes too (not when `reason` is null). */
export function closeForGroup(link: UpstreamLink, reason: string | null): void {
  link.group = null;
  link.applied = false;
  link.board.clear();
  link.lease.forget();
  link.fleetOpened = false;
  const b = link.breaker;
  if (b !== null && reason !== null && b.fleetClose(reason)) resync(link);
}

/** An operator forced the upstream open for the whole group. */
export function applyForced(link: UpstreamLink, cmd: FleetCommand): void {
  link.forced = cmd;
  const b = link.breaker;
  if (b === null) return;
  b.forceOpen(`forced open for the fleet by ${cmd.by} via ${cmd.via}${cmd.reason ? `: ${cmd.reason}` : ''}`);
  link.lastState = b.state;
  link.fleetOpened = false;
}

/** An operator reset the upstream for the whole group. */
export function applyReset(link: UpstreamLink, cmd: FleetCommand): void {
  link.forced = null;
  closeForGroup(link, null);
  link.breaker?.reset(`reset for the fleet by ${cmd.by} via ${cmd.via}`);
  resync(link);
}

/** The agent moved the breaker itself: its tick must not take that for a transition of its own. */
function resync(link: UpstreamLink): void {
  const b = link.breaker;
  if (b === null) return;
  link.lastState = b.state;
  link.reportedN = 0;
  link.lastSuccesses = b.totalSuccesses;
}

/**
 * A heartbeat's read of the group's state for one upstream (Redis time `nowAt`): the streak as
 * stored, the fleet-wide forced open, the group's open state. Repairs what missed events left.
 */
export function reconcile(
  ctx: FleetContext,
  link: UpstreamLink,
  nowAt: number,
  raw: { streak: unknown; open: unknown; forced: unknown; recovered: unknown },
): void {
  link.board.replace(reportsOf(raw.streak), nowAt);
  const cmd = typeof raw.forced === 'string' ? parseCommand(jsonOrNull(raw.forced)) : null;
  if (cmd !== null && (link.forced === null || link.forced.at !== cmd.at)) applyForced(link, cmd);
  if (cmd === null && link.forced !== null) {
    link.forced = null;
    if (link.breaker?.state === BreakerState.FORCED_OPEN) link.breaker.reset('fleet-wide forced open ended');
    resync(link);
  }
  const group = typeof raw.open === 'string' ? groupOf(jsonOrNull(raw.open)) : null;
  if (group !== null) {
    if (link.group === null) {
      link.group = group;
      link.applied = false;
    }
    applyGroup(ctx, link);
  } else if (link.group !== null) {
    // The event may not have arrived yet (another connection) or been lost: the record tells.
    const rec = typeof raw.recovered === 'string' ? parseRecovery(jsonOrNull(raw.recovered)) : null;
    if (rec !== null && rec.at >= link.group.since && rec.pod !== ctx.podId) {
      closeForGroup(link, `fleet: ${rec.reason}`);
    } else if (nowAt - link.group.since > 2 * ctx.policy.heartbeatMs) {
      closeForGroup(link, 'fleet: the group no longer holds it open');
    }
  } else if (link.group === null) {
    judge(ctx, link);
  }
}

function jsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function reportsOf(hash: unknown): FailureReport[] {
  if (typeof hash !== 'object' || hash === null) return [];
  const out: FailureReport[] = [];
  for (const [pod, raw] of Object.entries(hash as Record<string, unknown>)) {
    const r = typeof raw === 'string' ? parseReport(pod, jsonOrNull(raw)) : null;
    if (r !== null) out.push(r);
  }
  return out;
}

function groupOf(v: unknown): { since: number; reason: string } | null {
  const o = v as { since?: unknown; reason?: unknown } | null;
  if (o === null || typeof o !== 'object' || typeof o.since !== 'number' || typeof o.reason !== 'string')
    return null;
  return { since: o.since, reason: o.reason.slice(0, 2_000) };
}
