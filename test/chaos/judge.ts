import { Api, OLLAMA_MODEL, OPENAI_MODEL, type CallRecord } from './calls.ts';

/** The error codes a client may see (README's error table). */
const STREAM_INTERRUPTED = 'BW_ERR_STREAM_INTERRUPTED';
const CHAIN_EXHAUSTED = 'BW_ERR_CHAIN_EXHAUSTED';

/** What a call got, judged from the bytes received. */
export type Verdict =
  /** A complete answer (JSON, or a stream ended by its end marker) from `tier`. */
  | { readonly kind: 'answer'; readonly tier: string; readonly content: string }
  /** A stream from upstream `tier` cut after the client got bytes, ended by the error event. */
  | { readonly kind: 'cut'; readonly tier: string }
  /** The documented final 503 with Retry-After. */
  | { readonly kind: 'exhausted' }
  /** Anything else: a broken promise of the proxy. */
  | { readonly kind: 'bad'; readonly reason: string };

/** Texts the mocks answer with (`Hello from mock-{kind} (model {model}).`, docs/mock.md). */
export const MAX_TEXT = `Hello from mock-max (model ${OPENAI_MODEL}).`;
export const OLLAMA_TEXT = `Hello from mock-ollama (model ${OLLAMA_MODEL}).`;
/** The mocks' embeddings have 8 dimensions. */
const EMBEDDING = 'embedding:8';

const isOllamaApi = (api: Api): boolean => api === Api.OLLAMA_CHAT || api === Api.OLLAMA_GENERATE;

/** Contents a complete answer from `tier` may carry; `degraded` is the set of messages allowed. */
export function expectedContents(api: Api, tier: string, degraded: ReadonlySet<string>): ReadonlySet<string> {
  if (api === Api.OPENAI_EMBED) return new Set(tier === 'degraded' ? [] : [EMBEDDING]);
  switch (tier) {
    case 'max-gpu':
      return new Set(isOllamaApi(api) ? [] : [MAX_TEXT]);
    case 'ollama-cpu':
      return new Set([OLLAMA_TEXT]);
    case 'cache':
      return new Set(isOllamaApi(api) ? [OLLAMA_TEXT] : [MAX_TEXT, OLLAMA_TEXT]);
    case 'degraded':
      return degraded;
    default:
      return new Set();
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (typeof v === 'object' && v !== null ? (v as Obj) : null);

/** The assistant text (or embedding size) of one parsed record or event of `api`. */
function pieceOf(api: Api, v: unknown, stream: boolean): string | null {
  const o = obj(v);
  if (o === null) return null;
  switch (api) {
    case Api.OPENAI_EMBED: {
      const e = obj((o.data as unknown[] | undefined)?.[0])?.embedding;
      if (Array.isArray(e)) return `embedding:${e.length}`;
      return typeof e === 'string' ? `embedding:${Buffer.from(e, 'base64').length / 4}` : null;
    }
    case Api.OPENAI_CHAT: {
      const c = obj((o.choices as unknown[] | undefined)?.[0]);
      if (c === null) return Array.isArray(o.choices) ? '' : null;
      const m = obj(stream ? c.delta : c.message);
      return typeof m?.content === 'string' ? m.content : stream ? '' : null;
    }
    case Api.OPENAI_COMPLETIONS: {
      const c = obj((o.choices as unknown[] | undefined)?.[0]);
      if (c === null) return Array.isArray(o.choices) ? '' : null;
      return typeof c.text === 'string' ? c.text : null;
    }
    case Api.OLLAMA_CHAT: {
      const m = obj(o.message);
      return typeof m?.content === 'string' ? m.content : null;
    }
    case Api.OLLAMA_GENERATE:
      return typeof o.response === 'string' ? o.response : null;
  }
}

/** A stream body taken apart: its event payloads, whether it ended well, the error event if any. */
export interface StreamView {
  readonly payloads: readonly string[];
  readonly endMarker: boolean;
  /** The last error event: OpenAI `error.code` and `error.message`, or Ollama's error text (no code). */
  readonly error: { readonly code: string | null; readonly message: string } | null;
  /** Index of the first event that is neither data, end marker nor an error event; -1 if none. */
  readonly malformedAt: number;
}

export function viewStream(api: Api, body: string): StreamView {
  const ndjson = isOllamaApi(api);
  const payloads = ndjson
    ? body.split('\n').filter((l) => l !== '')
    : body
        .split('\n\n')
        .filter((e) => e.trim() !== '')
        .map((e) => e.replace(/^data: ?/, ''));
  let endMarker = false;
  let error: StreamView['error'] = null;
  let malformedAt = -1;
  payloads.forEach((p, i) => {
    if (!ndjson && p === '[DONE]') {
      endMarker = true;
      return;
    }
    const o = obj(parse(p));
    if (o === null) {
      if (malformedAt === -1) malformedAt = i;
      return;
    }
    if (o.error !== undefined) {
      const e = o.error;
      const eo = obj(e);
      error =
        typeof e === 'string'
          ? { code: null, message: e }
          : {
              code: typeof eo?.code === 'string' ? eo.code : null,
              message: typeof eo?.message === 'string' ? eo.message : JSON.stringify(e),
            };
      return;
    }
    if (ndjson && o.done === true) endMarker = true;
  });
  return { payloads, endMarker, error, malformedAt };
}

function streamContent(api: Api, view: StreamView): string | null {
  let text = '';
  for (const p of view.payloads) {
    if (p === '[DONE]') continue;
    const piece = pieceOf(api, parse(p), true);
    if (piece === null) return null;
    text += piece;
  }
  return text;
}

/**
 * Judges one call by the bytes it received. A stream is complete only when its last event is the
 * end marker and no error or malformed event came before; a stream without it must end with the
 * `BW_ERR_STREAM_INTERRUPTED` error event (README: a stream cut after the client got bytes ends
 * with a final error event, never a clean end).
 */
export function judge(rec: CallRecord, degraded: ReadonlySet<string>): Verdict {
  const { api, stream } = rec.spec;
  const tier = rec.headers['x-breakwater-tier'] ?? '';
  if (rec.status === null) return { kind: 'bad', reason: `no answer: ${rec.transportError ?? 'nothing'}` };
  if (rec.transportError !== null)
    return { kind: 'bad', reason: `body broke off (${rec.status}, tier ${tier}): ${rec.transportError}` };
  if (rec.status === 503 && tier === 'none') return judgeExhausted(rec);
  if (rec.status !== 200)
    return { kind: 'bad', reason: `status ${rec.status} from tier ${tier}: ${rec.body}` };
  const allowed = expectedContents(api, tier, degraded);
  const ct = rec.headers['content-type'] ?? '';
  const isStream = ct.startsWith('text/event-stream') || ct.startsWith('application/x-ndjson');
  if (stream && api !== Api.OPENAI_EMBED) {
    if (!isStream) return { kind: 'bad', reason: `stream asked, ${ct} answered by ${tier}` };
    const view = viewStream(api, rec.body);
    const last = view.payloads.at(-1);
    const lastIsEnd =
      view.endMarker && (isOllamaApi(api) ? obj(parse(last ?? ''))?.done === true : last === '[DONE]');
    if (lastIsEnd && view.error === null && view.malformedAt === -1) {
      const content = streamContent(api, view);
      if (content === null || !allowed.has(content))
        return {
          kind: 'bad',
          reason: `stream from ${tier} ended cleanly with content ${JSON.stringify(content)}`,
        };
      return { kind: 'answer', tier, content };
    }
    if (view.endMarker)
      return { kind: 'bad', reason: `stream from ${tier} has an end marker and a fault: ${rec.body}` };
    if (!endsWithInterruption(api, view, last))
      return {
        kind: 'bad',
        reason: `stream from ${tier} ended without its end marker or the error event: ${rec.body}`,
      };
    if (tier !== 'max-gpu' && tier !== 'ollama-cpu')
      return { kind: 'bad', reason: `a ${tier} stream was cut` };
    return { kind: 'cut', tier };
  }
  if (isStream) return { kind: 'bad', reason: `JSON asked, ${ct} answered by ${tier}` };
  const content = pieceOf(api, parse(rec.body), false);
  if (content === null || !allowed.has(content))
    return {
      kind: 'bad',
      reason: `JSON from ${tier} with content ${JSON.stringify(content)}: ${rec.body.slice(0, 300)}`,
    };
  return { kind: 'answer', tier, content };
}

/**
 * The last event is the error event of a cut stream: OpenAI's carries the code; Ollama's error
 * shape is a bare string, so its text is matched (`upstream NAME failed mid-stream…`).
 */
function endsWithInterruption(api: Api, view: StreamView, last: string | undefined): boolean {
  const e = obj(parse(last ?? ''))?.error;
  if (e === undefined || view.error === null) return false;
  if (isOllamaApi(api)) return /^upstream \S+ failed mid-stream/.test(view.error.message);
  return view.error.code === STREAM_INTERRUPTED;
}

function judgeExhausted(rec: CallRecord): Verdict {
  const retryAfter = rec.headers['retry-after'] ?? '';
  if (!/^[1-9]\d*$/.test(retryAfter))
    return { kind: 'bad', reason: `503 with Retry-After ${JSON.stringify(retryAfter)}` };
  if (rec.headers['x-should-retry'] !== 'false')
    return { kind: 'bad', reason: '503 without x-should-retry: false' };
  const marker = isOllamaApi(rec.spec.api) ? 'no tier could answer' : CHAIN_EXHAUSTED;
  if (!rec.body.includes(marker)) return { kind: 'bad', reason: `503 body: ${rec.body}` };
  return { kind: 'exhausted' };
}

/**
 * How the SDK must have behaved given the verdict: a complete answer returned with the same
 * content; a cut stream or a 503 thrown. Returns a problem, or null.
 */
export function sdkProblem(rec: CallRecord, v: Verdict): string | null {
  if (rec.spec.caller === 'raw' || v.kind === 'bad') return null;
  if (rec.requests !== 1) return `${rec.requests} HTTP requests for one call`;
  if (v.kind === 'answer') {
    if (rec.sdkError !== null) return `SDK threw on a complete answer from ${v.tier}: ${rec.sdkError}`;
    if (rec.sdkContent !== v.content)
      return `SDK returned ${JSON.stringify(rec.sdkContent)}, bytes said ${JSON.stringify(v.content)}`;
    return null;
  }
  return rec.sdkError === null ? `SDK returned normally on a ${v.kind} call` : null;
}

/** `x-breakwater-skipped` as (tier, reason) pairs. */
export function skippedOf(rec: CallRecord): [string, string][] {
  const h = rec.headers['x-breakwater-skipped'];
  if (h === undefined || h === '') return [];
  return h.split(', ').map((p) => {
    const eq = p.indexOf('=');
    return [p.slice(0, eq), p.slice(eq + 1)];
  });
}
