import type { Metrics } from '../metrics/index.ts';
import { answerUsage, type TokenUsage } from '../protocol/index.ts';
import type { AttemptEnd, AttemptSpan, RequestTracer, Tracing } from '../telemetry/index.ts';
import type { CallOutcome, UpstreamCall } from '../upstream/index.ts';
import type { ChainRequest, SkipNote } from './request.ts';

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

/** The request's span, continuing the caller's trace context; null when tracing is off. */
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
  const q = req.pathWithQuery.indexOf('?');
  return tracing.startRequest({
    route: req.route.name,
    method: req.method,
    path: q === -1 ? req.pathWithQuery : req.pathWithQuery.slice(0, q),
    operation: OPERATION[req.endpoint.endpoint] ?? req.endpoint.endpoint,
    system: req.endpoint.protocol,
    model: req.model,
    traceparent,
    tracestate,
  });
}

/** An attempt's end without tokens. */
export function attemptEnd(
  outcome: AttemptEnd['outcome'],
  reason: string | null,
  status: number | null,
): AttemptEnd {
  return { outcome, reason, status, promptTokens: null, completionTokens: null };
}

/** What one answered upstream call leaves for the token metrics. */
export interface AnsweredCall {
  readonly usage: TokenUsage | null;
  readonly events: number;
  readonly firstByteMs: number;
  readonly lastEventAtMs: number;
}

/**
 * Counts an answer's tokens (README "Metrics"): what the upstream reported, else its stream events
 * as an estimate; and its output rate — completion tokens after the first per second from the
 * first token to the last event (streams), or over the whole call (whole answers).
 */
export function countTokens(
  metrics: Metrics,
  req: ChainRequest,
  tier: string,
  model: string | null,
  call: AnsweredCall,
  startedAtMs: number,
  endedAtMs: number,
): void {
  const u = call.usage;
  const completion = u?.completion ?? null;
  const estimated = completion === null && call.events > 0 ? call.events : 0;
  metrics.llm.answerTokens(req.route.name, tier, model, {
    prompt: u?.prompt ?? null,
    completion,
    estimatedCompletion: estimated,
  });
  const tokens = completion ?? estimated;
  if (tokens <= 0 || call.firstByteMs < 0) return;
  if (call.events > 0) {
    const seconds = (call.lastEventAtMs - (startedAtMs + call.firstByteMs)) / 1000;
    if (tokens > 1 && seconds > 0) metrics.llm.outputTokensPerSecond(tier, (tokens - 1) / seconds);
  } else {
    const seconds = (endedAtMs - startedAtMs) / 1000;
    if (seconds > 0) metrics.llm.outputTokensPerSecond(tier, tokens / seconds);
  }
}

/** A tier not tried: its span (when tracing) ends as skipped. */
export function skip(span: AttemptSpan | null, tier: string, reason: string): SkipNote {
  span?.end(attemptEnd('skipped', reason, null));
  return { tier, reason };
}

export function endAttempt(span: AttemptSpan, outcome: CallOutcome, call: UpstreamCall | null): void {
  switch (outcome.kind) {
    case 'ok':
      span.end({
        outcome: 'answered',
        reason: null,
        status: outcome.status,
        promptTokens: call?.usage?.prompt ?? null,
        completionTokens: call?.usage?.completion ?? null,
      });
      return;
    case 'spill':
      span.end(attemptEnd('skipped', String(outcome.status), outcome.status));
      return;
    case 'client_gone':
      span.end(attemptEnd('client_gone', null, null));
      return;
    case 'failed': {
      const resumed = outcome.committed && outcome.partialText !== null;
      span.end(attemptEnd(resumed ? 'resumed' : 'failed', outcome.failure.kind, null));
    }
  }
}

/** Counts the tokens of an answer the cache or the degraded tier served, and ends its span. */
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
