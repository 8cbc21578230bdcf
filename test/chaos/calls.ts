import { Agent, request } from 'node:http';
import { Ollama } from 'ollama';
import OpenAI from 'openai';

/** The LLM APIs the suites call, each with its path on the proxy. */
export const Api = {
  OPENAI_CHAT: '/v1/chat/completions',
  OPENAI_COMPLETIONS: '/v1/completions',
  OPENAI_EMBED: '/v1/embeddings',
  OLLAMA_CHAT: '/api/chat',
  OLLAMA_GENERATE: '/api/generate',
} as const;
export type Api = (typeof Api)[keyof typeof Api];

/** Who makes the call: the official SDKs or raw HTTP/1.1 on a keep-alive agent. */
export type Caller = 'openai' | 'ollama' | 'raw';

export interface CallSpec {
  readonly id: number;
  readonly caller: Caller;
  readonly api: Api;
  readonly stream: boolean;
  readonly prompt: string;
}

/** The model each protocol asks for (the mocks answer any; the text names it). */
export const OPENAI_MODEL = 'llama-3.1-8b';
export const OLLAMA_MODEL = 'llama3.1:8b';

/** What one call saw: the HTTP exchange as received, and what the SDK made of it. */
export interface CallRecord {
  readonly spec: CallSpec;
  /** HTTP status, or null when no response started. */
  status: number | null;
  headers: Record<string, string>;
  /** The body bytes as received (decoded as UTF-8). */
  body: string;
  /** A transport failure: no response, or the body broke off (reset, abort, timeout). */
  transportError: string | null;
  /** What the SDK threw, for SDK callers; null when it returned normally. */
  sdkError: string | null;
  /** The assistant text (or embedding size) the SDK returned; null when it threw or for raw calls. */
  sdkContent: string | null;
  /** HTTP requests the call made (1 unless a client retried). */
  requests: number;
  readonly startedAtMs: number;
  endedAtMs: number;
}

export interface CallerContext {
  readonly proxyUrl: string;
  /** Keep-alive agent of the raw caller. */
  readonly agent: Agent;
  /** Client-side bound of one call; past it the call is aborted and recorded as unanswered. */
  readonly timeoutMs: number;
}

export function rawAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

function bodyOf(spec: CallSpec): Record<string, unknown> {
  const messages = [{ role: 'user', content: spec.prompt }];
  switch (spec.api) {
    case Api.OPENAI_CHAT:
      return { model: OPENAI_MODEL, messages, stream: spec.stream };
    case Api.OPENAI_COMPLETIONS:
      return { model: OPENAI_MODEL, prompt: spec.prompt, stream: spec.stream };
    case Api.OPENAI_EMBED:
      return { model: OPENAI_MODEL, input: spec.prompt };
    case Api.OLLAMA_CHAT:
      return { model: OLLAMA_MODEL, messages, stream: spec.stream };
    case Api.OLLAMA_GENERATE:
      return { model: OLLAMA_MODEL, prompt: spec.prompt, stream: spec.stream };
  }
}

function newRecord(spec: CallSpec): CallRecord {
  const now = Date.now();
  return {
    spec,
    status: null,
    headers: {},
    body: '',
    transportError: null,
    sdkError: null,
    sdkContent: null,
    requests: 0,
    startedAtMs: now,
    endedAtMs: now,
  };
}

const errText = (err: unknown): string =>
  err instanceof Error ? `${err.name}: ${err.message}${causeText(err)}` : String(err);
const causeText = (err: Error): string => {
  const c = (err as { cause?: unknown }).cause;
  return c instanceof Error ? ` (cause: ${(c as NodeJS.ErrnoException).code ?? c.message})` : '';
};

/** Raw HTTP/1.1: one POST on the keep-alive agent; the body is kept as received. */
function rawCall(ctx: CallerContext, rec: CallRecord): Promise<void> {
  const payload = JSON.stringify(bodyOf(rec.spec));
  return new Promise((resolve) => {
    let settled = false;
    const done = (err: unknown): void => {
      if (settled) return;
      settled = true;
      if (err !== null) rec.transportError = errText(err);
      resolve();
    };
    rec.requests++;
    const req = request(
      `${ctx.proxyUrl}${rec.spec.api}`,
      {
        method: 'POST',
        agent: ctx.agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        signal: AbortSignal.timeout(ctx.timeoutMs),
      },
      (res) => {
        rec.status = res.statusCode ?? 0;
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') rec.headers[k] = v;
        res.setEncoding('utf8');
        res.on('data', (d: string) => (rec.body += d));
        res.on('end', () => done(null));
        res.on('error', done);
        res.on('aborted', () => done(new Error('response aborted')));
      },
    );
    req.on('error', done);
    req.end(payload);
  });
}

/**
 * A `fetch` for the SDKs that records the exchange: status, headers, and a copy of the body read
 * to its end whatever the SDK does with its own copy (`tee`).
 */
function recordingFetch(rec: CallRecord, pending: Promise<void>[], timeoutMs: number): typeof fetch {
  return async (input, init) => {
    rec.requests++;
    let res: Response;
    try {
      // The SDK's own abort signal is not passed on: an SDK that stops reading after an error
      // event aborts its request, and the copy recorded here must still see the body to its end.
      // The call's own bound applies instead.
      res = await fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      rec.transportError = errText(err);
      throw err;
    }
    rec.status = res.status;
    res.headers.forEach((v, k) => (rec.headers[k] = v));
    if (res.body === null) return res;
    const [mine, theirs] = res.body.tee();
    pending.push(
      (async () => {
        const decoder = new TextDecoder();
        const reader = (mine as ReadableStream<Uint8Array>).getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            rec.body += decoder.decode(value, { stream: true });
          }
          rec.body += decoder.decode();
        } catch (err) {
          rec.transportError = errText(err);
        }
      })(),
    );
    return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

async function openaiCall(ctx: CallerContext, rec: CallRecord, f: typeof fetch): Promise<string> {
  const client = new OpenAI({
    baseURL: `${ctx.proxyUrl}/v1`,
    apiKey: 'sk-chaos',
    // One HTTP request per call, so that calls and what the mocks and breakers counted line up.
    maxRetries: 0,
    timeout: ctx.timeoutMs,
    fetch: f,
  });
  const spec = rec.spec;
  const messages = [{ role: 'user' as const, content: spec.prompt }];
  if (spec.api === Api.OPENAI_EMBED) {
    const r = await client.embeddings.create({ model: OPENAI_MODEL, input: spec.prompt });
    return `embedding:${r.data[0]?.embedding.length ?? 0}`;
  }
  if (spec.api === Api.OPENAI_COMPLETIONS) {
    if (!spec.stream) {
      const r = await client.completions.create({ model: OPENAI_MODEL, prompt: spec.prompt });
      return r.choices[0]?.text ?? '';
    }
    let text = '';
    const s = await client.completions.create({ model: OPENAI_MODEL, prompt: spec.prompt, stream: true });
    for await (const c of s) text += c.choices[0]?.text ?? '';
    return text;
  }
  if (!spec.stream) {
    const r = await client.chat.completions.create({ model: OPENAI_MODEL, messages });
    return r.choices[0]?.message.content ?? '';
  }
  let text = '';
  const s = await client.chat.completions.create({ model: OPENAI_MODEL, messages, stream: true });
  for await (const c of s) text += c.choices[0]?.delta.content ?? '';
  return text;
}

async function ollamaCall(ctx: CallerContext, rec: CallRecord, f: typeof fetch): Promise<string> {
  const client = new Ollama({ host: ctx.proxyUrl, fetch: f });
  const spec = rec.spec;
  const messages = [{ role: 'user', content: spec.prompt }];
  if (spec.api === Api.OLLAMA_GENERATE) {
    if (!spec.stream)
      return (
        (await client.generate({ model: OLLAMA_MODEL, prompt: spec.prompt, stream: false })).response ?? ''
      );
    let text = '';
    const s = await client.generate({ model: OLLAMA_MODEL, prompt: spec.prompt, stream: true });
    for await (const part of s) text += part.response;
    return text;
  }
  if (!spec.stream) return (await client.chat({ model: OLLAMA_MODEL, messages })).message.content;
  let text = '';
  const s = await client.chat({ model: OLLAMA_MODEL, messages, stream: true });
  for await (const part of s) text += part.message.content;
  return text;
}

/** Makes one call as `spec` says; never throws: everything seen is in the record. */
export async function makeCall(ctx: CallerContext, spec: CallSpec): Promise<CallRecord> {
  const rec = newRecord(spec);
  if (spec.caller === 'raw') {
    await rawCall(ctx, rec);
  } else {
    const pending: Promise<void>[] = [];
    const f = recordingFetch(rec, pending, ctx.timeoutMs);
    try {
      rec.sdkContent = await (spec.caller === 'openai' ? openaiCall(ctx, rec, f) : ollamaCall(ctx, rec, f));
    } catch (err) {
      rec.sdkError = errText(err);
    }
    await Promise.all(pending);
  }
  rec.endedAtMs = Date.now();
  return rec;
}

/**
 * Runs `count` tasks, at most `concurrency` at a time, started in index order; resolves with every
 * result. `beforeStart(i)`, when given, is awaited before task `i` starts, and no later task
 * starts before it resolves (tasks already started carry on).
 */
export async function runPool<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
  beforeStart?: (i: number) => Promise<void>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const candidate = next;
      if (candidate >= count) return;
      if (beforeStart !== undefined) {
        await beforeStart(candidate);
        // Another worker took it meanwhile: check again for the index now next.
        if (next !== candidate) continue;
      }
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}
