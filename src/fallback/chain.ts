import { ErrorCode } from '../errors/index.ts';
import { Endpoint } from '../protocol/index.ts';
import type { RequestTracer } from '../telemetry/index.ts';
import { Resumption, type ClientWriter } from '../upstream/index.ts';
import { skippedHeader } from './answer-headers.ts';
import { attemptCache, attemptDegraded } from './answer-tiers.ts';
import type { ChainDeps } from './deps.ts';
import { requestTrace } from './observe.ts';
import type { ChainRequest, Exhausted, SkipNote, TierResult } from './request.ts';
import { attemptUpstream } from './tier-attempt.ts';

/**
 * Walks the route's chain for one LLM call (docs/design.md#chain): upstream tiers, then the cache,
 * then the degraded answer; each tier answers, is skipped with a reason, or (a stream cut after
 * the client got bytes, on a tier with `continueOnNextTier`) leaves the stream for the next
 * upstream tier to continue. Resolves null when the client has its answer, or with what the final
 * 503 must say; the proxy writes it (errors map to HTTP in one place). With tracing on, the request
 * is one span and each tier attempt a child of it (docs/operations.md#traces).
 */
export async function runChain(
  deps: ChainDeps,
  req: ChainRequest,
  writer: ClientWriter,
): Promise<Exhausted | null> {
  const chain = req.route.chain;
  const resumption = mayResume(req) ? new Resumption() : null;
  let skipped: SkipNote[] | null = null;
  /** Set while a stream cut mid-way waits for the next upstream tier to continue it. */
  let cut: SkipNote | null = null;
  const trace = requestTrace(deps.tracing, req);
  for (let index = req.startIndex; index < chain.length; index++) {
    const tier = chain[index]!;
    if (cut !== null && tier.kind !== 'upstream') break;
    let result: TierResult;
    if (tier.kind === 'upstream') {
      result = await attemptUpstream(deps, req, tier, writer, { index, skipped, resumption, trace });
    } else if (tier.kind === 'cache') result = await attemptCache(deps, req, tier, writer, skipped, trace);
    else result = attemptDegraded(deps, req, tier, writer, skipped, trace);
    if (result.kind === 'answered') {
      answered(deps, req, result.tier, result.status, skipped, trace);
      return null;
    }
    skipped = [...(skipped ?? []), { tier: result.tier, reason: result.reason }];
    if (result.kind === 'cut') {
      cut = result;
      resumption!.continuing = true;
    } else if (writer.res.destroyed || writer.res.writableEnded) return null;
  }
  if (cut !== null) {
    // No tier could continue the stream: it ends as any cut stream ends, with an error event.
    const message = `upstream ${cut.tier} failed mid-stream (${cut.reason}) and no tier could continue`;
    writer.endWithError(message, ErrorCode.STREAM_INTERRUPTED);
    answered(deps, req, cut.tier, 502, skipped, trace);
    return null;
  }
  return exhausted(deps, req, skipped ?? [], trace);
}

/** May a cut stream of this request be resumed? Chat streams on a chain that opts in (docs/design.md#resumption). */
function mayResume(req: ChainRequest): boolean {
  if (!req.stream) return false;
  const e = req.endpoint.endpoint;
  if (e !== Endpoint.CHAT && e !== Endpoint.OLLAMA_CHAT) return false;
  return req.route.chain.some((t) => t.kind === 'upstream' && t.continueOnNextTier);
}

function exhausted(
  deps: ChainDeps,
  req: ChainRequest,
  skipped: SkipNote[],
  trace: RequestTracer | null,
): Exhausted {
  let retryMs: number | null = null;
  for (const tier of req.route.chain) {
    if (tier.kind !== 'upstream') continue;
    const ms = deps.upstreams.byName.get(tier.upstream)!.breaker.retryAfterMs();
    if (ms !== null && (retryMs === null || ms < retryMs)) retryMs = ms;
  }
  answered(deps, req, 'none', 503, skipped, trace);
  return {
    retryAfterSeconds: Math.max(1, Math.ceil((retryMs ?? 1000) / 1000)),
    skipped: skippedHeader(skipped),
  };
}

/**
 * Records the answer (the chain's finish step): tier usage and duration metrics, the end of the
 * request's span, and a debug line after a fallback.
 */
function answered(
  deps: ChainDeps,
  req: ChainRequest,
  tier: string,
  status: number,
  skipped: SkipNote[] | null,
  trace: RequestTracer | null,
): void {
  const route = req.route.name;
  trace?.end(tier, status, skipped === null ? null : skippedHeader(skipped));
  deps.metrics.answered(route, tier, status, (deps.clock.now() - req.startedAtMs) / 1000);
  if (skipped !== null && deps.logger.isLevelEnabled('debug')) {
    deps.logger.debug({ route, tier, status, skipped }, 'answered after fallback');
  }
}
