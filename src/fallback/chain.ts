import type { ServerResponse } from 'node:http';
import type { Permit } from '../breaker/index.ts';
import type { ResponseCache } from '../cache/index.ts';
import type { Clock } from '../clock/index.ts';
import { degradedAnswer } from '../degraded/index.ts';
import { ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { Metrics } from '../metrics/index.ts';
import type { CacheTier, DegradedTier, UpstreamTier } from '../policy/index.ts';
import { Endpoint, Framing, errorEvent } from '../protocol/index.ts';
import { UpstreamCall, openStreams, type CallOutcome, type UpstreamSet } from '../upstream/index.ts';
import { admitFleet } from './fleet-gate.ts';
import type { ChainRequest, SkipNote } from './request.ts';

/** What the chain needs from the process: the active upstreams, the cache and the instruments. */
export interface ChainDeps {
  readonly upstreams: UpstreamSet;
  readonly cache: ResponseCache;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Result of one tier: answered (the client has its response), skipped with a reason, or cut
 * mid-stream with its partial text kept for the next upstream tier to continue
 * (`continueOnNextTier`).
 */
type TierResult =
  | { readonly answered: true; readonly tier: string; readonly status: number }
  | SkipNote
  | { readonly cut: true; readonly tier: string; readonly partialText: string; readonly reason: string };

const NO_RETRY = 'false';

/**
 * Walks the route's chain for one LLM call (SPEC §4): upstream tiers (skipped when their breaker is
 * open, trial slots are taken, or `maxConcurrent` is reached; moving on when they fail before the
 * client got a byte), then the cache, then the degraded answer, then a 503 with `Retry-After`.
 * Every answer carries `x-breakwater-tier` and `x-breakwater-route`; answers after a fallback also
 * carry `x-breakwater-skipped` naming why each earlier tier did not answer. Resolves with what the
 * final 503 must say when nothing could answer; the proxy writes it (errors map to HTTP in one place).
 */
export async function runChain(
  deps: ChainDeps,
  req: ChainRequest,
  res: ServerResponse,
): Promise<Exhausted | null> {
  const chain = req.route.chain;
  // The key (canonical body + sha256) is computed only when the cache is used: after an answer was
  // sent (to store it) or at the cache tier — never ahead of the upstream call.
  const cacheable = deps.cache.maxEntryBytes > 0 && req.endpoint.cacheable && !req.noStore;
  let skipped: SkipNote[] | null = null;
  /** Set while a stream cut mid-way waits for the next upstream tier to continue it. */
  let cut: { tier: string; partialText: string; reason: string } | null = null;
  for (let i = req.startIndex; i < chain.length; i++) {
    const tier = chain[i]!;
    if (cut !== null && tier.kind !== 'upstream') break;
    const headers = tierHeaders(req, skipped);
    let result: TierResult;
    if (tier.kind === 'upstream') {
      result = await upstreamTier(deps, req, tier, res, headers, cacheable, cut?.partialText ?? null);
    } else if (tier.kind === 'cache') result = await cacheTier(deps, req, tier, res, headers);
    else result = degradedTier(deps, req, tier, res, headers);
    if ('answered' in result) {
      finish(deps, req, result.tier, result.status, skipped);
      return null;
    }
    if ('cut' in result) {
      cut = result;
      (skipped ??= []).push({ tier: result.tier, reason: result.reason });
      continue;
    }
    (skipped ??= []).push(result);
    if (res.destroyed || res.writableEnded) return null;
  }
  if (cut !== null) {
    // No tier could continue the stream: end it as any cut stream ends, with an error event.
    endCutStream(
      res,
      req,
      `upstream ${cut.tier} failed mid-stream (${cut.reason}) and no tier could continue`,
    );
    finish(deps, req, cut.tier, 502, skipped);
    return null;
  }
  return exhausted(deps, req, skipped ?? []);
}

function endCutStream(res: ServerResponse, req: ChainRequest, message: string): void {
  const stream = openStreams.get(res);
  if (res.writableEnded) return;
  res.end(
    errorEvent(stream?.framing ?? Framing.SSE, req.endpoint.protocol, message, ErrorCode.STREAM_INTERRUPTED),
  );
}

/** May a cut stream of this request be resumed on the next tier? Chat streams only (SPEC §4). */
function resumable(req: ChainRequest, tier: UpstreamTier): boolean {
  return (
    tier.continueOnNextTier &&
    req.stream &&
    (req.endpoint.endpoint === Endpoint.CHAT || req.endpoint.endpoint === Endpoint.OLLAMA_CHAT)
  );
}

function tierHeaders(req: ChainRequest, skipped: SkipNote[] | null): Record<string, string> {
  const h: Record<string, string> = { 'x-breakwater-route': req.route.name };
  if (skipped !== null) h['x-breakwater-skipped'] = skippedHeader(skipped);
  return h;
}

async function upstreamTier(
  deps: ChainDeps,
  req: ChainRequest,
  tier: UpstreamTier,
  res: ServerResponse,
  headers: Record<string, string>,
  cacheable: boolean,
  continueFrom: string | null,
): Promise<TierResult> {
  const up = deps.upstreams.byName.get(tier.upstream)!;
  const name = tier.upstream;
  if (up.inflight >= up.policy.maxConcurrent) return { tier: name, reason: 'saturated' };
  // Fleet budget (docs/fleet.md): at most one bounded Redis round trip, only for budgeted tiers.
  const lease = up.fleetBudget === null ? null : await admitFleet(up);
  if (typeof lease === 'string') return { tier: name, reason: lease };
  const permit: Permit | null = up.breaker.tryAcquire();
  if (permit === null) {
    lease?.release();
    return { tier: name, reason: up.breaker.state === 'half_open' ? 'half_open_busy' : up.breaker.state };
  }
  headers['x-breakwater-tier'] = name;
  up.inflight++;
  const body = continueFrom === null ? rewriteModel(req, tier) : continuationBody(req, tier, continueFrom);
  // A continued stream is two answers spliced: never stored.
  const recordLimitBytes = !cacheable || continueFrom !== null ? 0 : deps.cache.maxEntryBytes;
  let call: UpstreamCall | null = null;
  let outcome: CallOutcome;
  try {
    outcome = await new Promise<CallOutcome>((resolve) => {
      call = new UpstreamCall(
        up,
        {
          method: req.method,
          path: req.pathWithQuery,
          rawHeaders: req.rawHeaders,
          connection: req.connection,
          body,
          protocol: req.endpoint.protocol,
          recordLimitBytes,
          resumable: resumable(req, tier),
          continueFrom,
        },
        res,
        headers,
        deps.clock,
        resolve,
      );
      call.start();
    });
  } finally {
    up.inflight--;
    lease?.release();
  }
  const firstByteMs = (call as UpstreamCall | null)?.firstByteMs ?? -1;
  if (firstByteMs >= 0) deps.metrics.firstByte(name, firstByteMs / 1000);
  switch (outcome.kind) {
    case 'ok':
      up.breaker.success(permit);
      if (outcome.recorded !== null) {
        const key = deps.cache.keyFor(req);
        if (key !== null) deps.cache.store(req, key, outcome.recorded);
      }
      return { answered: true, tier: name, status: outcome.status };
    case 'spill':
      up.breaker.release(permit);
      return { tier: name, reason: String(outcome.status) };
    case 'client_gone':
      up.breaker.release(permit);
      return { answered: true, tier: name, status: 499 };
    case 'failed':
      up.breaker.failure(permit, outcome.failure);
      if (deps.logger.isLevelEnabled('debug')) {
        deps.logger.debug({ route: req.route.name, upstream: name, failure: outcome.failure }, 'tier failed');
      }
      if (outcome.committed && outcome.partialText !== null) {
        return { cut: true, tier: name, reason: outcome.failure.kind, partialText: outcome.partialText };
      }
      if (outcome.committed) return { answered: true, tier: name, status: 502 };
      return {
        tier: name,
        reason: outcome.failure.kind === 'status' ? outcome.failure.message.slice(5) : outcome.failure.kind,
      };
  }
}

function targetModel(req: ChainRequest, tier: UpstreamTier): string | null {
  if (req.model === null) return null;
  const target = tier.models[req.model] ?? tier.models['*'];
  return target === undefined || target === req.model ? null : target;
}

function rewriteModel(req: ChainRequest, tier: UpstreamTier): Buffer {
  if (req.json === null) return req.body;
  const target = targetModel(req, tier);
  return target === null ? req.body : Buffer.from(JSON.stringify({ ...req.json, model: target }));
}

/** The request again, with the text the client already got as an assistant prefix to continue. */
function continuationBody(req: ChainRequest, tier: UpstreamTier, partialText: string): Buffer {
  const json = req.json!;
  const messages: unknown[] = Array.isArray(json.messages) ? (json.messages as unknown[]) : [];
  const target = targetModel(req, tier);
  return Buffer.from(
    JSON.stringify({
      ...json,
      ...(target === null ? {} : { model: target }),
      messages: [...messages, { role: 'assistant', content: partialText }],
    }),
  );
}

async function cacheTier(
  deps: ChainDeps,
  req: ChainRequest,
  tier: CacheTier,
  res: ServerResponse,
  headers: Record<string, string>,
): Promise<TierResult> {
  const cacheKey = deps.cache.keyFor(req);
  if (cacheKey === null) return { tier: 'cache', reason: 'not_cacheable' };
  headers['x-breakwater-tier'] = 'cache';
  headers['x-should-retry'] = NO_RETRY;
  const served = await deps.cache.serve(req, cacheKey, tier.maxStaleMs, res, headers);
  return served ? { answered: true, tier: 'cache', status: 200 } : { tier: 'cache', reason: 'miss' };
}

function degradedTier(
  deps: ChainDeps,
  req: ChainRequest,
  tier: DegradedTier,
  res: ServerResponse,
  headers: Record<string, string>,
): TierResult {
  const answer = degradedAnswer(
    req.endpoint,
    req.model ?? 'unknown',
    req.stream,
    tier.message,
    tier.status,
    deps.clock.now(),
  );
  if (answer === null) return { tier: 'degraded', reason: 'no_degraded_form' };
  headers['x-breakwater-tier'] = 'degraded';
  headers['x-should-retry'] = NO_RETRY;
  headers['content-type'] = answer.contentType;
  headers['content-length'] = String(Buffer.byteLength(answer.body));
  res.writeHead(answer.status, headers);
  res.end(answer.body);
  return { answered: true, tier: 'degraded', status: answer.status };
}

/** Nothing in the chain could answer: what the final 503 must say (the proxy maps it to HTTP). */
export interface Exhausted {
  /** Seconds until the earliest breaker of the route half-opens (at least 1). */
  readonly retryAfterSeconds: number;
  /** Why each tier did not answer, as in `x-breakwater-skipped`. */
  readonly skipped: string;
}

function exhausted(deps: ChainDeps, req: ChainRequest, skipped: SkipNote[]): Exhausted {
  let retryMs: number | null = null;
  for (const tier of req.route.chain) {
    if (tier.kind !== 'upstream') continue;
    const ms = deps.upstreams.byName.get(tier.upstream)!.breaker.retryAfterMs();
    if (ms !== null && (retryMs === null || ms < retryMs)) retryMs = ms;
  }
  finish(deps, req, 'none', 503, skipped);
  return {
    retryAfterSeconds: Math.max(1, Math.ceil((retryMs ?? 1000) / 1000)),
    skipped: skippedHeader(skipped),
  };
}

function skippedHeader(skipped: readonly SkipNote[]): string {
  return skipped.map((s) => `${s.tier}=${s.reason}`).join(', ');
}

function finish(
  deps: ChainDeps,
  req: ChainRequest,
  tier: string,
  status: number,
  skipped: SkipNote[] | null,
): void {
  const route = req.route.name;
  deps.metrics.answered(route, tier, status, (deps.clock.now() - req.startedAtMs) / 1000);
  if (skipped !== null && deps.logger.isLevelEnabled('debug')) {
    deps.logger.debug({ route, tier, status, skipped }, 'answered after fallback');
  }
}
