import type { Dispatcher } from 'undici';
import type { Clock } from '../clock/index.ts';
import type { HealthCheckPolicy } from '../policy/index.ts';
import type { UpstreamRuntime } from '../upstream/index.ts';

/** Outcome of one probe: `detail` is short text for logs (`HTTP 200`, `ECONNREFUSED`, …). */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

/** Largest probe body read (a model list); above, the probe fails rather than buffer more. */
const MAX_PROBE_BODY_BYTES = 1024 * 1024;

/** The model-list path: Ollama's native `/api/tags` when the probe path is `/` (Ollama's root), else OpenAI's. */
export function modelListPath(hc: HealthCheckPolicy): string {
  return hc.path === '/' ? '/api/tags' : '/v1/models';
}

/** True when `model` is in an OpenAI (`data[].id`) or Ollama (`models[].name|model`) model list. */
export function listsModel(body: unknown, model: string): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const names: unknown[] = [];
  const { data, models } = body as { data?: unknown; models?: unknown };
  if (Array.isArray(data)) for (const m of data) names.push((m as { id?: unknown } | null)?.id);
  if (Array.isArray(models)) {
    for (const m of models)
      names.push((m as { name?: unknown } | null)?.name, (m as { model?: unknown } | null)?.model);
  }
  // Ollama lists `llama3.1:latest` for a model pulled as `llama3.1`.
  return names.some((n) => n === model || n === `${model}:latest`);
}

/**
 * One GET through the upstream's pool with `dispatch()` (the pool is undici's bare Pool, without
 * the `request()` API). Rejects on connection errors, abort and oversize bodies.
 */
function get(
  rt: UpstreamRuntime,
  path: string,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  const u = rt.policy;
  const full = u.basePath === '/' ? path : u.basePath + path;
  // Same Host and tier headers as proxied calls (Ollama on loopback answers 403 to a foreign Host).
  const headers: Record<string, string> = { ...u.headers, host: u.authority, accept: 'application/json' };
  return new Promise((resolve, reject) => {
    let status = 0;
    let size = 0;
    const chunks: Buffer[] = [];
    let controller: Dispatcher.DispatchController | null = null;
    const onAbort = (): void => controller?.abort(new Error('probe aborted'));
    const done = (): void => signal.removeEventListener('abort', onAbort);
    signal.addEventListener('abort', onAbort);
    rt.pool.dispatch(
      { method: 'GET', path: full, headers },
      {
        onRequestStart(c: Dispatcher.DispatchController): void {
          controller = c;
          if (signal.aborted) c.abort(new Error('probe aborted'));
        },
        onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
          status = statusCode;
        },
        onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
          size += chunk.length;
          if (size > MAX_PROBE_BODY_BYTES)
            c.abort(new Error(`body larger than ${MAX_PROBE_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        },
        onResponseEnd(): void {
          done();
          resolve({ status, body: Buffer.concat(chunks).toString('utf8') });
        },
        onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
          done();
          reject(err);
        },
      },
    );
  });
}

async function run(rt: UpstreamRuntime, hc: HealthCheckPolicy, signal: AbortSignal): Promise<ProbeResult> {
  const health = await get(rt, hc.path, signal);
  if (health.status < 200 || health.status > 299) return { ok: false, detail: `HTTP ${health.status}` };
  if (hc.expectModel === null) return { ok: true, detail: `HTTP ${health.status}` };
  const path = modelListPath(hc);
  const list = await get(rt, path, signal);
  if (list.status < 200 || list.status > 299) return { ok: false, detail: `${path}: HTTP ${list.status}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(list.body);
  } catch {
    return { ok: false, detail: `${path}: not JSON` };
  }
  return listsModel(parsed, hc.expectModel)
    ? { ok: true, detail: `HTTP ${health.status}, model ${hc.expectModel} listed` }
    : { ok: false, detail: `model ${hc.expectModel} not listed by ${path}` };
}

/**
 * One probe of an upstream through its own pool, bounded by `hc.timeoutMs` on `clock`.
 * Never rejects: connection errors and timeouts are failed results.
 */
export async function probeUpstream(
  rt: UpstreamRuntime,
  hc: HealthCheckPolicy,
  clock: Clock,
  signal: AbortSignal,
): Promise<ProbeResult> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = clock.setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, hc.timeoutMs);
  const onAbort = (): void => ac.abort();
  signal.addEventListener('abort', onAbort);
  try {
    return await run(rt, hc, ac.signal);
  } catch (err) {
    if (timedOut) return { ok: false, detail: `timeout after ${hc.timeoutMs} ms` };
    const e = err as NodeJS.ErrnoException;
    return { ok: false, detail: e.code ?? e.message };
  } finally {
    clock.clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
