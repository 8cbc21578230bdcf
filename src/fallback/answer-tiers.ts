import { degradedAnswer } from '../degraded/index.ts';
import type { CacheTier, DegradedTier } from '../policy/index.ts';
import type { RequestTracer } from '../telemetry/index.ts';
import type { ClientWriter } from '../upstream/index.ts';
import { answerHeaders } from './answer-headers.ts';
import type { ChainDeps } from './deps.ts';
import { countServed, skip } from './observe.ts';
import type { ChainRequest, SkipNote, TierResult } from './request.ts';

/**
 * The cache tier: a stored answer for the request's key, in its protocol, or a skip (`miss`,
 * `not_cacheable`). A served answer's tokens count under `cache`; with tracing on, the attempt is
 * one span of `trace`.
 */
export async function attemptCache(
  deps: ChainDeps,
  req: ChainRequest,
  tier: CacheTier,
  writer: ClientWriter,
  skipped: readonly SkipNote[] | null,
  trace: RequestTracer | null = null,
): Promise<TierResult> {
  const span =
    trace?.attempt({
      tier: 'cache',
      kind: 'cache',
      model: req.model,
      breakerState: deps.cache.breaker?.state ?? null,
    }) ?? null;
  const key = deps.cache.keyFor(req);
  if (key === null) return skip(span, 'cache', 'not_cacheable');
  const headers = answerHeaders(req.route.name, 'cache', skipped, true);
  const served = await deps.cache.serve(req, key, tier.maxStaleMs, writer.res, headers);
  if (served === false) return skip(span, 'cache', 'miss');
  countServed(deps.metrics, req, 'cache', served.body, span, 200);
  return { kind: 'answered', tier: 'cache', status: 200 };
}

/**
 * The degraded tier: the configured answer in the request's protocol, or a skip
 * (`no_degraded_form`). Its tokens (zero where its protocol reports usage) count under `degraded`.
 */
export function attemptDegraded(
  deps: ChainDeps,
  req: ChainRequest,
  tier: DegradedTier,
  writer: ClientWriter,
  skipped: readonly SkipNote[] | null,
  trace: RequestTracer | null = null,
): TierResult {
  const span =
    trace?.attempt({ tier: 'degraded', kind: 'degraded', model: req.model, breakerState: null }) ?? null;
  const answer = degradedAnswer(
    req.endpoint,
    req.model ?? 'unknown',
    req.stream,
    tier.message,
    tier.status,
    deps.clock.now(),
  );
  if (answer === null) return skip(span, 'degraded', 'no_degraded_form');
  const body = Buffer.from(answer.body);
  const headers: Record<string, string> = {
    ...answerHeaders(req.route.name, 'degraded', skipped, true),
    'content-type': answer.contentType,
    'content-length': String(body.length),
  };
  writer.res.writeHead(answer.status, headers);
  writer.res.end(body);
  countServed(deps.metrics, req, 'degraded', body, span, answer.status);
  return { kind: 'answered', tier: 'degraded', status: answer.status };
}
