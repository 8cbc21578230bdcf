import type { Permit } from '../breaker/index.ts';
import type { UpstreamTier } from '../policy/index.ts';
import type { AttemptSpan, RequestTracer } from '../telemetry/index.ts';
import {
  UpstreamCall,
  type BudgetLease,
  type CallOutcome,
  type CallRequest,
  type ClientWriter,
  type Resumption,
  type UpstreamRuntime,
} from '../upstream/index.ts';
import { answerHeaders } from './answer-headers.ts';
import type { ChainDeps } from './deps.ts';
import { admitFleet } from './fleet-gate.ts';
import { countTokens, endAttempt, skip } from './observe.ts';
import type { ChainRequest, SkipNote, TierResult } from './request.ts';

/** Where this attempt sits in the walk: the tier's index, the skips so far, a stream to continue. */
export interface AttemptContext {
  readonly index: number;
  readonly skipped: readonly SkipNote[] | null;
  /** The request's resumption when its stream may be resumed, else null. */
  readonly resumption: Resumption | null;
  /** The request's trace when tracing is on, else null (docs/operations.md#traces). */
  readonly trace: RequestTracer | null;
}

/**
 * One upstream tier attempt (docs/design.md#tier-attempt): admission (`maxConcurrent`, the fleet
 * budget where the tier has one, then a breaker permit), the call, and the permit's settlement by
 * the call's outcome. Returns what the tier did as data; a status failure is reported by its
 * status, never by its message. The attempt is one span of the request's trace, and an answer's
 * tokens are counted under the tier (docs/operations.md#tokens).
 */
export async function attemptUpstream(
  deps: ChainDeps,
  req: ChainRequest,
  tier: UpstreamTier,
  writer: ClientWriter,
  ctx: AttemptContext,
): Promise<TierResult> {
  const name = tier.upstream;
  const up = deps.upstreams.byName.get(name)!;
  const model = targetModel(req, tier) ?? req.model;
  // Optional chaining: with tracing off the attempt's description is not even built.
  const span =
    ctx.trace?.attempt({ tier: name, kind: 'upstream', model, breakerState: up.breaker.state }) ?? null;
  const admitted = await admit(up, span);
  if ('kind' in admitted) return admitted;
  const { permit, lease } = admitted;
  up.inflight++;
  const call = callRequest(deps, req, tier, ctx, span?.traceparent ?? null);
  let firstByteMs = -1;
  let outcome: CallOutcome;
  try {
    outcome = await new Promise<CallOutcome>((resolve) => {
      const c = new UpstreamCall(up, call, writer, deps.clock, (o) => {
        firstByteMs = c.firstByteMs;
        resolve(o);
      });
      c.start();
    });
  } finally {
    up.inflight--;
    lease?.release();
  }
  if (firstByteMs >= 0) deps.metrics.firstByte(name, firstByteMs / 1000);
  if (outcome.kind === 'ok') countTokens(deps.metrics, req, name, model, outcome.status, outcome.tokens);
  if (span !== null) endAttempt(span, outcome);
  return settle(deps, req, up, permit, outcome);
}

/** Admission: `maxConcurrent`, then the fleet budget (docs/fleet.md) where the tier has one, then a breaker permit. */
async function admit(
  up: UpstreamRuntime,
  span: AttemptSpan | null,
): Promise<{ permit: Permit; lease: BudgetLease | null } | TierResult> {
  const name = up.policy.name;
  if (up.inflight >= up.policy.maxConcurrent) return skip(span, name, 'saturated');
  // At most one bounded Redis round trip, only for budgeted tiers.
  const lease = up.fleetBudget === null ? null : await admitFleet(up);
  if (typeof lease === 'string') return skip(span, name, lease);
  const permit = up.breaker.tryAcquire();
  if (permit !== null) return { permit, lease };
  lease?.release();
  const s = up.breaker.state;
  return skip(span, name, s === 'half_open' ? 'half_open_busy' : s);
}

/**
 * The call for this tier: its body (model rewrite or continuation), headers, what to record, the
 * attempt's `traceparent` (null when tracing is off) and the tier's inter-token histogram (streams).
 */
function callRequest(
  deps: ChainDeps,
  req: ChainRequest,
  tier: UpstreamTier,
  ctx: AttemptContext,
  traceparent: string | null,
): CallRequest {
  const resumption = ctx.resumption;
  const continuing = resumption !== null && resumption.continuing;
  const model = targetModel(req, tier);
  const body = continuing ? resumption.continuationBody(req.json!, model) : withModel(req, model);
  // A continued stream is two answers spliced: never stored.
  const record =
    !continuing &&
    req.cacheIndex > ctx.index &&
    deps.cache.maxEntryBytes > 0 &&
    req.endpoint.cacheable &&
    !req.noStore;
  return {
    method: req.method,
    path: req.pathWithQuery,
    rawHeaders: req.rawHeaders,
    connection: req.connection,
    body,
    protocol: req.endpoint.protocol,
    tierHeaders: answerHeaders(req.route.name, tier.upstream, ctx.skipped, false),
    recordLimitBytes: record ? deps.cache.maxEntryBytes : 0,
    resumption: ctx.resumption,
    trackText: ctx.resumption !== null && tier.continueOnNextTier,
    traceparent,
    interToken: req.stream ? deps.metrics.llm.interTokenOf(tier.upstream) : null,
  };
}

function settle(
  deps: ChainDeps,
  req: ChainRequest,
  up: UpstreamRuntime,
  permit: Permit,
  outcome: CallOutcome,
): TierResult {
  const name = up.policy.name;
  switch (outcome.kind) {
    case 'ok':
      up.breaker.success(permit);
      if (outcome.recorded !== null) {
        const key = deps.cache.keyFor(req);
        if (key !== null) deps.cache.store(req, key, outcome.recorded);
      }
      return { kind: 'answered', tier: name, status: outcome.status };
    case 'spill':
      up.breaker.release(permit);
      return { kind: 'skipped', tier: name, reason: String(outcome.status) };
    case 'client_gone':
      up.breaker.release(permit);
      return { kind: 'answered', tier: name, status: 499 };
    case 'failed': {
      const f = outcome.failure;
      up.breaker.failure(permit, f);
      if (deps.logger.isLevelEnabled('debug')) {
        deps.logger.debug({ route: req.route.name, upstream: name, failure: f }, 'tier failed');
      }
      if (outcome.resumable) return { kind: 'cut', tier: name, reason: f.kind };
      if (outcome.committed) return { kind: 'answered', tier: name, status: 502 };
      return { kind: 'skipped', tier: name, reason: f.status !== null ? String(f.status) : f.kind };
    }
  }
}

/** The model this tier is asked for, or null to send the body as the client wrote it. */
function targetModel(req: ChainRequest, tier: UpstreamTier): string | null {
  if (req.model === null) return null;
  const target = tier.models[req.model] ?? tier.models['*'];
  return target === undefined || target === req.model ? null : target;
}

function withModel(req: ChainRequest, model: string | null): Buffer {
  return model === null || req.json === null ? req.body : Buffer.from(JSON.stringify({ ...req.json, model }));
}
