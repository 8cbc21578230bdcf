import { degradedAnswer } from '../degraded/index.ts';
import type { CacheTier, DegradedTier } from '../policy/index.ts';
import type { ClientWriter } from '../upstream/index.ts';
import { answerHeaders } from './answer-headers.ts';
import type { ChainDeps } from './deps.ts';
import type { ChainRequest, SkipNote, TierResult } from './request.ts';

/** The cache tier: a stored answer for the request's key, in its protocol, or a skip (`miss`, `not_cacheable`). */
export async function attemptCache(
  deps: ChainDeps,
  req: ChainRequest,
  tier: CacheTier,
  writer: ClientWriter,
  skipped: readonly SkipNote[] | null,
): Promise<TierResult> {
  const key = deps.cache.keyFor(req);
  if (key === null) return { kind: 'skipped', tier: 'cache', reason: 'not_cacheable' };
  const headers = answerHeaders(req.route.name, 'cache', skipped, true);
  const served = await deps.cache.serve(req, key, tier.maxStaleMs, writer.res, headers);
  return served
    ? { kind: 'answered', tier: 'cache', status: 200 }
    : { kind: 'skipped', tier: 'cache', reason: 'miss' };
}

/** The degraded tier: the configured answer in the request's protocol, or a skip (`no_degraded_form`). */
export function attemptDegraded(
  deps: ChainDeps,
  req: ChainRequest,
  tier: DegradedTier,
  writer: ClientWriter,
  skipped: readonly SkipNote[] | null,
): TierResult {
  const answer = degradedAnswer(
    req.endpoint,
    req.model ?? 'unknown',
    req.stream,
    tier.message,
    tier.status,
    deps.clock.now(),
  );
  if (answer === null) return { kind: 'skipped', tier: 'degraded', reason: 'no_degraded_form' };
  const headers: Record<string, string> = {
    ...answerHeaders(req.route.name, 'degraded', skipped, true),
    'content-type': answer.contentType,
    'content-length': String(Buffer.byteLength(answer.body)),
  };
  writer.res.writeHead(answer.status, headers);
  writer.res.end(answer.body);
  return { kind: 'answered', tier: 'degraded', status: answer.status };
}
