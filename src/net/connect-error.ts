/**
 * Error codes that mean a connection was never established (refused, no route, no name, no local
 * address, connect timeout): the server never saw the request. Every other transport error after
 * dispatch is a reset. One list for the upstream calls and the load generator.
 */
export const CONNECT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

/** True when `err` (or the `code` it carries) says the connection was never established. */
export function isConnectError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CONNECT_ERROR_CODES.has(code);
}
