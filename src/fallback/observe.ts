import type { Metrics } from '../metrics/index.ts';
import { answerUsage } from '../protocol/index.ts';
import type { AttemptEnd, AttemptSpan, RequestTracer, Tracing } from '../telemetry/index.ts';
import type { CallOutcome, TokenReading } from '../upstream/index.ts';
import type { ChainRequest, TierResult } from './request.ts';

/** GenAI `gen_ai.operation.name` of each endpoint (OpenTelemetry GenAI semantic conventions). */
const OPERATION: Readonly<Record<string, string>> = {
  chat: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
  ollama_chat: 'chat',
  ollama_generate: 'text_completion',
  ollama_embed: 'embeddings',
  ollama_embeddings: 'embeddings',
};

/**
 * The request's span, continuing the caller's trace context (docs/operations.md#traces); null
 * when tracing is off, and then the chain makes no tracing call at all.
 */
export function requestTrace(tracing: Tracing | null, req: ChainRequest): RequestTracer | null {
  if (tracing === null) return null;
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === 'traceparent') traceparent = raw[i + 1];
    else if (lower === 'tracestate') tracestate = raw[i + 1];
  }
  return tracing.startRequest({
    route: req.route.name,
    method: req.method,
    path: req.path,
    operation: OPERATION[req.endpoint.endpoint] ?? req.endpoint.endpoint,
    system: req.endpoint.protocol,
    model: req.model,
    traceparent,
    tracestate,
  });
}

/** An attempt's end without tokens. */
function attemptEnd(
  outcome: AttemptEnd['outcome'],
  reason: string | null,
  status: number | null,
): AttemptEnd {
  return { outcome, reason, status, promptTokens: null, completionTokens: null };
}

/** A tier not tried: its span (when tracing) ends as skipped, with the reason. */
export function skip(span: AttemptSpan | null, tier: string, reason: string): TierResult {
  span?.end(attemptEnd('skipped', reason, null));
  return { kind: 'skipped', tier, reason };
}

/** Ends an upstream attempt's span by the call's outcome: answered, skipped (429), failed or resumed. */
export function endAttempt(span: AttemptSpan, outcome: CallOutcome): void {
  switch (outcome.kind) {
    case 'ok': {
      const u = outcome.tokens.usage;
      span.end({
        outcome: 'answered',
        reason: null,
        status: outcome.status,
        promptTokens: u?.prompt ?? null,
        completionTokens: u?.completion ?? null,
      });
      return;
    }
    case 'spill':
      span.end(attemptEnd('skipped', String(outcome.status), outcome.status));
      return;
    case 'client_gone':
      span.end(attemptEnd('client_gone', null, null));
      return;
    case 'failed': {
      const f = outcome.failure;
      span.end(attemptEnd(outcome.resumable ? 'resumed' : 'failed', f.kind, f.status));
    }
  }
}

/**
 * Counts a 2xx upstream answer's tokens (docs/operations.md#tokens): what the upstream reported,
 * else the stream's events as an estimate; and its output rate — completion tokens after the first
 * per second from the first token to the last event (streams), or all of them over the call
 * (whole answers). Answers with another status carry no tokens and are not counted.
 */
export function countTokens(
  metrics: Metrics,
  req: ChainRequest,
  tier: string,
  model: string | null,
  status: number,
  t: TokenReading,
): void {
  if (status < 200 || status >= 300) return;
  const completion = t.usage?.completion ?? null;
  const estimated = completion === null && t.events > 0 ? t.events : 0;
  metrics.llm.answerTokens(req.route.name, tier, model, {
    prompt: t.usage?.prompt ?? null,
    completion,
    estimatedCompletion: estimated,
  });
  const tokens = completion ?? estimated;
  if (tokens <= 0 || t.outputMs <= 0) return;
  const seconds = t.outputMs / 1000;
  if (t.events === 0) metrics.llm.outputTokensPerSecond(tier, tokens / seconds);
  else if (tokens > 1) metrics.llm.outputTokensPerSecond(tier, (tokens - 1) / seconds);
}

/**
 * Counts the tokens of an answer the cache or the degraded tier served, read from the end of its
 * body (bounded, as upstream answers are), and ends its span. The degraded answer reports zero
 * tokens where its protocol has a usage field.
 */
export function countServed(
  metrics: Metrics,
  req: ChainRequest,
  tier: 'cache' | 'degraded',
  body: Buffer,
  span: AttemptSpan | null,
  status: number,
): void {
  const usage = answerUsage(req.endpoint.protocol, body);
  const prompt = usage?.prompt ?? null;
  const completion = usage?.completion ?? null;
  metrics.llm.answerTokens(req.route.name, tier, req.model, { prompt, completion, estimatedCompletion: 0 });
  span?.end({ ...attemptEnd('answered', null, status), promptTokens: prompt, completionTokens: completion });
}
