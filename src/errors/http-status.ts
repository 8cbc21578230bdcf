import type { ErrorCode } from './breakwater-error.ts';

/**
 * The two requests Node's parser hands over that HTTP answers with its own status while they stay
 * `BW_ERR_REQUEST_INVALID` for the client: an `Expect` other than `100-continue` (`417`, RFC 9110
 * §10.1.1) and a transfer coding other than `chunked` (`501`, RFC 9112 §6.1).
 */
export const REFUSAL_STATUS = Object.freeze({ expectation: 417, transferCoding: 501 } as const);
export type Refusal = keyof typeof REFUSAL_STATUS;

/**
 * The one table from error code to HTTP status (docs/design.md#error-mapping). Nothing else picks
 * a status for an error. Codes that never reach an HTTP client (policy, manifest, listen and
 * admin-client errors) map to 500 for completeness.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  BW_ERR_POLICY_INVALID: 500,
  BW_ERR_POLICY_UNREADABLE: 500,
  BW_ERR_ROUTE_NOT_FOUND: 404,
  BW_ERR_BODY_TOO_LARGE: 413,
  BW_ERR_REQUEST_INVALID: 400,
  BW_ERR_MEDIA_TYPE_UNSUPPORTED: 415,
  BW_ERR_METHOD_NOT_ALLOWED: 405,
  BW_ERR_BODY_TOO_COMPLEX: 413,
  BW_ERR_HEADERS_TOO_LARGE: 431,
  BW_ERR_REQUEST_TIMEOUT: 408,
  BW_ERR_BUFFER_FULL: 503,
  BW_ERR_CHAIN_EXHAUSTED: 503,
  BW_ERR_PASSTHROUGH_FAILED: 502,
  BW_ERR_STREAM_INTERRUPTED: 502,
  BW_ERR_SHUTDOWN_TIMEOUT: 503,
  BW_ERR_ADMIN_UNAUTHORIZED: 401,
  BW_ERR_ADMIN_FORBIDDEN: 403,
  BW_ERR_BREAKER_NOT_FOUND: 404,
  BW_ERR_ADMIN_UNREACHABLE: 500,
  BW_ERR_LISTEN_FAILED: 500,
  BW_ERR_MANIFEST_INVALID: 500,
  BW_ERR_CERTIFICATE_INVALID: 500,
  BW_ERR_FLEET_DISABLED: 404,
  BW_ERR_FLEET_UNAVAILABLE: 503,
  BW_ERR_INTERNAL_FAILURE: 500,
});
