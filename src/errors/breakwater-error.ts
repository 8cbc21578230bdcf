import { HTTP_STATUS, REFUSAL_STATUS, type Refusal } from './http-status.ts';
/**
 * Stable error codes. Callers match on `code`, never on `instanceof`.
 * Codes follow `BW_ERR_<NOUN>_<CONDITION>` and are never reused; every code is listed in the
 * README's error table (a test checks it).
 */
export const ErrorCode = {
  /** The policy file failed to parse or validate. */
  POLICY_INVALID: 'BW_ERR_POLICY_INVALID',
  /** The policy file could not be read. */
  POLICY_UNREADABLE: 'BW_ERR_POLICY_UNREADABLE',
  /** No route matched the request (breakwater is never an open proxy). */
  ROUTE_NOT_FOUND: 'BW_ERR_ROUTE_NOT_FOUND',
  /** The request body exceeded `limits.maxRequestBody`. */
  BODY_TOO_LARGE: 'BW_ERR_BODY_TOO_LARGE',
  /**
   * The request could not be parsed or used: bad JSON for an LLM call, a bad request target or
   * Host, a transfer coding other than chunked (501), a request Node's parser refused.
   */
  REQUEST_INVALID: 'BW_ERR_REQUEST_INVALID',
  /** A control call's body type is not JSON (a form a browser could send without a preflight). */
  MEDIA_TYPE_UNSUPPORTED: 'BW_ERR_MEDIA_TYPE_UNSUPPORTED',
  /** The admin or health listener does not serve this method on this path. */
  METHOD_NOT_ALLOWED: 'BW_ERR_METHOD_NOT_ALLOWED',
  /** An LLM call's JSON body exceeded `limits.maxJsonDepth` or `limits.maxJsonMembers`. */
  BODY_TOO_COMPLEX: 'BW_ERR_BODY_TOO_COMPLEX',
  /** The request's headers exceeded Node's 16 KiB header limit (`431`). */
  HEADERS_TOO_LARGE: 'BW_ERR_HEADERS_TOO_LARGE',
  /** The request did not arrive in time: `limits.headersTimeout`, `requestTimeout`, `bodyIdleTimeout`. */
  REQUEST_TIMEOUT: 'BW_ERR_REQUEST_TIMEOUT',
  /** The LLM request bodies held at once by the process reached `limits.maxBufferedBytes` (503). */
  BUFFER_FULL: 'BW_ERR_BUFFER_FULL',
  /** Every tier of the chain was skipped or failed. */
  CHAIN_EXHAUSTED: 'BW_ERR_CHAIN_EXHAUSTED',
  /** A pass-through call (a non-LLM path) could not reach its upstream. */
  PASSTHROUGH_FAILED: 'BW_ERR_PASSTHROUGH_FAILED',
  /** An upstream failed after the client had already received part of a stream. */
  STREAM_INTERRUPTED: 'BW_ERR_STREAM_INTERRUPTED',
  /** The sidecar is shutting down and ended the request at `shutdown.timeout`. */
  SHUTDOWN: 'BW_ERR_SHUTDOWN_TIMEOUT',
  /** A control call on the admin API lacked a valid bearer token. */
  ADMIN_UNAUTHORIZED: 'BW_ERR_ADMIN_UNAUTHORIZED',
  /**
   * An admin request refused whatever its token: a `Host` that is none of the listener's own names
   * (DNS rebinding), or a control call a browser sent from another site.
   */
  ADMIN_FORBIDDEN: 'BW_ERR_ADMIN_FORBIDDEN',
  /** The named breaker does not exist. */
  BREAKER_NOT_FOUND: 'BW_ERR_BREAKER_NOT_FOUND',
  /** The admin API could not be reached (CLI). */
  ADMIN_UNREACHABLE: 'BW_ERR_ADMIN_UNREACHABLE',
  /** A listener could not bind its address. */
  LISTEN_FAILED: 'BW_ERR_LISTEN_FAILED',
  /** A Kubernetes manifest given to `inject` could not be processed. */
  MANIFEST_INVALID: 'BW_ERR_MANIFEST_INVALID',
  /** The webhook's certificate or key file could not be read or do not form a usable pair. */
  CERTIFICATE_INVALID: 'BW_ERR_CERTIFICATE_INVALID',
  /** `GET /fleet` or a `--fleet` command on a pod whose policy has no `fleet:` section. */
  FLEET_DISABLED: 'BW_ERR_FLEET_DISABLED',
  /** A fleet-wide command while the fleet store is down. */
  FLEET_UNAVAILABLE: 'BW_ERR_FLEET_UNAVAILABLE',
  /** An internal bug; the request still gets an answer. */
  INTERNAL: 'BW_ERR_INTERNAL_FAILURE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every error breakwater throws or reports. */
export class BreakwaterError extends Error {
  readonly code: ErrorCode;
  /** One of the two parser refusals with a status of their own (`REFUSAL_STATUS`), or null. */
  readonly refusal: Refusal | null;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; refusal?: Refusal }) {
    super(message, options);
    this.name = 'BreakwaterError';
    this.code = code;
    this.refusal = options?.refusal ?? null;
  }

  /** HTTP status this error maps to when it reaches a client: from `src/errors/http-status.ts`. */
  get status(): number {
    return this.refusal === null ? HTTP_STATUS[this.code] : REFUSAL_STATUS[this.refusal];
  }
}

/** True when `err` is a BreakwaterError carrying `code` (matches on code, not on class). */
export function hasCode(err: unknown, code: ErrorCode): err is BreakwaterError {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
