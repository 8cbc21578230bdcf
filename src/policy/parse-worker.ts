/**
 * Entry of the worker thread that parses a policy off the event loop (see `worker-load.ts`):
 * decodes and analyses the bytes it is given, posts back the analysis or the problems, and ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ErrorCode } from '../errors/index.ts';
import { analyzePolicy } from './load.ts';
import { PolicyError } from './problems.ts';
import { decodePolicy } from './read.ts';
import type { WorkerInput, WorkerOutput } from './worker-load.ts';

const input = workerData as WorkerInput;
let output: WorkerOutput;
try {
  output = {
    ok: true,
    analysis: analyzePolicy(decodePolicy(input.label, input.bytes), input.label, input.env),
  };
} catch (err) {
  if (!(err instanceof PolicyError)) throw err;
  const code =
    err.code === ErrorCode.POLICY_UNREADABLE ? ErrorCode.POLICY_UNREADABLE : ErrorCode.POLICY_INVALID;
  output = { ok: false, code, problems: err.problems };
}
parentPort!.postMessage(output);
