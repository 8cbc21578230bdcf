import { createHash } from 'node:crypto';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock } from '../clock/index.ts';
import { ErrorCode } from '../errors/index.ts';
import type { PolicyEnv } from './interpolate.ts';
import { limitMessage } from './limits.ts';
import { finishPolicy, type PolicyAnalysis } from './load.ts';
import { PolicyError, type PolicyProblem } from './problems.ts';
import { readPolicyBytes } from './read.ts';
import type { Policy } from './types.ts';

/** Default bound on one parse in the worker: 30 s, then the worker is ended and the reload fails. */
export const DEFAULT_PARSE_TIMEOUT_MS = 30_000;
/** Heap of the parse worker: 128 MiB (a file at every limit needs ~60 MiB); beyond it the worker ends. */
export const PARSE_WORKER_HEAP_MB = 128;

/** Options of `loadPolicyFileInWorker`. */
export interface WorkerLoadOptions {
  readonly env: PolicyEnv;
  /** Source of `source.loadedAtMs` and of the parse timeout; default the system clock. */
  readonly clock?: Clock;
  /** Default {@link DEFAULT_PARSE_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Ends the worker and rejects (the sidecar is closing). */
  readonly signal?: AbortSignal;
}

/** What the worker is given. */
export interface WorkerInput {
  readonly bytes: Uint8Array;
  readonly label: string;
  readonly env: Readonly<Record<string, string>>;
}

/** What the worker posts back. */
export type WorkerOutput =
  | { readonly ok: true; readonly analysis: PolicyAnalysis }
  | {
      readonly ok: false;
      readonly code: typeof ErrorCode.POLICY_INVALID | typeof ErrorCode.POLICY_UNREADABLE;
      readonly problems: readonly PolicyProblem[];
    };

// `.ts` when running from src (tests, `node src/main.ts`), `.js` from dist.
const WORKER_URL = new URL(`./parse-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function failure(file: string, message: string, cause?: unknown): PolicyError {
  const problem = { file, line: null, column: null, path: '', message };
  return new PolicyError(ErrorCode.POLICY_INVALID, [problem], cause === undefined ? {} : { cause });
}

const cancelled = (file: string): PolicyError => failure(file, 'parse cancelled: breakwater is closing');
const timeoutMessage = (ms: number): string => limitMessage(`a parse within ${ms} ms`, 'longer');

function plainEnv(env: PolicyEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function analyzeInWorker(file: string, bytes: Buffer, opts: WorkerLoadOptions): Promise<PolicyAnalysis> {
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS;
  const input: WorkerInput = { bytes, label: file, env: plainEnv(opts.env) };
  return new Promise((resolvePromise, reject) => {
    if (opts.signal?.aborted) {
      reject(cancelled(file));
      return;
    }
    const worker = new Worker(WORKER_URL, {
      workerData: input,
      resourceLimits: { maxOldGenerationSizeMb: PARSE_WORKER_HEAP_MB },
    });
    // Never holds the process open: a reload does not outlive the sidecar.
    worker.unref();
    let done = false;
    const finish = (err: PolicyError | null, analysis?: PolicyAnalysis): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (err) reject(err);
      else resolvePromise(analysis!);
    };
    const onAbort = (): void => finish(cancelled(file));
    const timer = clock.setTimeout(() => finish(failure(file, timeoutMessage(timeoutMs))), timeoutMs);
    opts.signal?.addEventListener('abort', onAbort);
    worker.on('message', (out: WorkerOutput) => {
      if (out.ok) finish(null, out.analysis);
      else finish(new PolicyError(out.code, out.problems));
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const message =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? limitMessage(`a parse within ${PARSE_WORKER_HEAP_MB} MiB of heap`, 'more')
          : `parse failed: ${err.message}`;
      finish(failure(file, message, err));
    });
    worker.on('exit', (code) => finish(failure(file, `parse worker exited with code ${code}`)));
  });
}

/**
 * Reads and compiles a policy file like `loadPolicyFile`, with the parse and validation in a
 * worker thread: a hostile file costs that thread, never the event loop that serves the proxy and
 * the probes (a 1 MiB file stalled every listener ~50 s when parsed on it). Reading, hashing and
 * compiling the validated document stay on the calling thread (bounded by the file limits).
 * Throws a `PolicyError` as `loadPolicyFile` does; also when the parse outlasts `timeoutMs`,
 * exceeds {@link PARSE_WORKER_HEAP_MB}, or `signal` aborts.
 */
export async function loadPolicyFileInWorker(file: string, opts: WorkerLoadOptions): Promise<Policy> {
  const bytes = await readPolicyBytes(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const analysis = await analyzeInWorker(file, bytes, opts);
  const loadedAtMs = (opts.clock ?? systemClock).now();
  return finishPolicy(analysis, { file: resolve(file), sha256, loadedAtMs });
}
