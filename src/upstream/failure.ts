import type { Failure } from '../breaker/index.ts';
import { FailureKind } from '../breaker/index.ts';
import { isConnectError } from '../net/index.ts';

/**
 * A failed upstream call as data (docs/design.md#tier-attempt): the breaker's `kind` and
 * `message`, and the HTTP status for `status` failures (null otherwise). The chain reads `kind`
 * and `status`; the message is for people (trip reasons, logs, the error event).
 */
export interface CallFailure extends Failure {
  readonly status: number | null;
}

/** A failure that is not about a status. */
export function callFailure(kind: FailureKind, message: string): CallFailure {
  return { kind, message, status: null };
}

/** The failure of an answer whose status is in `failOn`. */
export function statusFailure(status: number, message = `HTTP ${status}`): CallFailure {
  return { kind: FailureKind.STATUS, message, status };
}

/** The failure of a transport error: connect (never reached the server) or reset. */
export function classifyError(err: Error): CallFailure {
  const code = (err as { code?: string }).code ?? '';
  if (isConnectError(err)) {
    // `connect ECONNREFUSED 10.0.0.7:8000` → `ECONNREFUSED 10.0.0.7:8000`: the kind already says connect.
    const message = err.message.startsWith('connect ')
      ? err.message.slice(8) || code
      : `${code}: ${err.message}`;
    return callFailure(FailureKind.CONNECT, message);
  }
  return callFailure(FailureKind.RESET, `${code || 'error'}: ${err.message}`);
}
