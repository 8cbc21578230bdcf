import { BreakerState, type CircuitBreaker } from '../breaker/index.ts';
import type { FleetContext } from './context.ts';
import type { UpstreamLink } from './link.ts';

/**
 * One tick of one upstream (every `FLEET_TICK_MS`): notices this pod's breaker transitions,
 * reports its failure streak and trips to the group, and tends the probe lease. Reads the
 * breaker only (no snapshot unless something is to be sent); sends without waiting.
 */
export function tickLink(ctx: FleetContext, link: UpstreamLink, b: CircuitBreaker): void {
  const state = b.state;
  if (state !== link.lastState) onState(ctx, link, b, link.lastState, state);
  link.lastState = state;
  if (!ctx.store.up) return;
  if (state === BreakerState.CLOSED) sampleStreak(ctx, link, b);
  const retryAfterMs = b.retryAfterMs();
  let demand = false;
  if (link.group !== null && retryAfterMs === 0 && !link.lease.held) {
    const rejections = b.snapshot().total_rejections;
    demand = rejections > link.lastRejections;
    link.lastRejections = rejections;
  }
  link.lease.tick({ groupOpen: link.group !== null, state, retryAfterMs, demand });
}

/**
 * The store answers again: what this pod reported meanwhile was lost. Its streak is reported again
 * at the next tick, and a trip of its own now.
 */
export function resumeReports(ctx: FleetContext, link: UpstreamLink): void {
  link.reportedN = 0;
  const b = link.breaker;
  if (b === null || b.state !== BreakerState.OPEN || link.fleetOpened || link.group !== null) return;
  sendFailing(ctx, link, Math.max(b.consecutiveFailures, link.rule.failureThreshold), true, lastFailure(b));
}

function onState(
  ctx: FleetContext,
  link: UpstreamLink,
  b: CircuitBreaker,
  from: BreakerState,
  to: BreakerState,
): void {
  if (to === BreakerState.OPEN) {
    // Opened on its own: the agent's own fleetOpen records the state it caused.
    link.fleetOpened = false;
    if (!ctx.store.up) return;
    if (link.group !== null) {
      // The prober's trial failed: the group stays open for another period.
      ctx.store.sync.pexpire(ctx.keys.open(link.name), link.openTtlMs).catch(() => undefined);
    } else {
      const n = Math.max(b.consecutiveFailures, link.rule.failureThreshold);
      sendFailing(ctx, link, n, true, lastFailure(b));
    }
  } else if (to === BreakerState.CLOSED) {
    link.fleetOpened = false;
    link.reportedN = 0;
    link.lastSuccesses = b.totalSuccesses;
    // Trials can close it between two ticks (never seen half-open): holding the lease tells.
    const probed = from === BreakerState.HALF_OPEN || link.lease.held;
    if (probed && link.group !== null && ctx.store.up) sendRecovered(ctx, link);
  }
}

/** A success after failures somewhere in the group ends the group's streak; a longer streak here is reported. */
function sampleStreak(ctx: FleetContext, link: UpstreamLink, b: CircuitBreaker): void {
  const successes = b.totalSuccesses;
  if (successes !== link.lastSuccesses) {
    link.lastSuccesses = successes;
    if (link.board.size > 0 || link.reportedN > 0) sendOk(ctx, link);
    link.reportedN = 0;
  }
  const n = b.consecutiveFailures;
  if (n > 0 && n !== link.reportedN) {
    sendFailing(ctx, link, n, false, lastFailure(b));
  }
}

function sendFailing(
  ctx: FleetContext,
  link: UpstreamLink,
  n: number,
  trip: boolean,
  last: string | null,
): void {
  link.reportedN = n;
  ctx.metrics.reportsSent.labels({ upstream: link.name, kind: 'failing' }).inc();
  const entry = JSON.stringify({ n, trip, last });
  ctx.store.sync
    .bwReportFailing(
      ctx.keys.streak(link.name),
      ctx.podId,
      entry,
      ctx.policy.windowMs,
      ctx.keys.channel,
      link.name,
    )
    .catch((err: unknown) => ctx.store.markDown('report', err));
}

function sendOk(ctx: FleetContext, link: UpstreamLink): void {
  ctx.metrics.reportsSent.labels({ upstream: link.name, kind: 'ok' }).inc();
  ctx.store.sync
    .bwReportOk(ctx.keys.streak(link.name), ctx.podId, ctx.keys.channel, link.name)
    .catch((err: unknown) => ctx.store.markDown('report', err));
}

/** This pod's trials closed its breaker while the group held it open: the group's open state ends. */
function sendRecovered(ctx: FleetContext, link: UpstreamLink): void {
  const k = ctx.keys;
  const reason = `${ctx.podId} closed ${link.name} after its half-open trials succeeded`;
  const msg = JSON.stringify({ t: 'recovered', u: link.name, pod: ctx.podId, reason });
  ctx.metrics.reportsSent.labels({ upstream: link.name, kind: 'recovered' }).inc();
  link.group = null;
  link.applied = false;
  link.board.clear();
  link.lease.forget();
  ctx.store.sync
    .bwRecover(
      k.open(link.name),
      k.streak(link.name),
      k.probe(link.name),
      k.recovered(link.name),
      ctx.podId,
      k.channel,
      msg,
      link.openTtlMs,
      reason,
    )
    .catch((err: unknown) => ctx.store.markDown('report', err));
}

/** `timeout: no first token within 5000ms`: the breaker's last failure, as a report quotes it. */
function lastFailure(b: CircuitBreaker): string | null {
  const last = b.snapshot().last_failure;
  return last === null ? null : `${last.kind}: ${last.message}`;
}
