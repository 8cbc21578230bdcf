import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { LimitsPolicy } from '../policy/index.ts';
import { writeSocketError } from '../protocol/index.ts';
import { refuse } from './handler.ts';

/** Node's default, set explicitly so the documented bound holds whatever `--max-http-header-size` says. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** How often Node checks `headersTimeout` and `requestTimeout` (its default is 30 s). */
const TIMEOUT_CHECK_MS = 1_000;

/** The options of every proxy HTTP server: header size and the request timeouts of `limits`. */
export function serverOptions(limits: LimitsPolicy): Parameters<typeof import('node:http').createServer>[0] {
  return {
    keepAliveTimeout: 65_000,
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    // Node's own answer to a missing Host has no body: the target step gives the JSON one.
    requireHostHeader: false,
  };
}

/** Applies a reloaded policy's request timeouts to a running server. */
export function applyTimeouts(server: Server, limits: LimitsPolicy): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
}

/** What a request Node's parser refused, or one that timed out, gets: Node's statuses, JSON bodies. */
function clientErrorOf(err: NodeJS.ErrnoException): BreakwaterError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const msg = `request headers larger than ${MAX_HEADER_BYTES} bytes`;
    return new BreakwaterError(ErrorCode.HEADERS_TOO_LARGE, msg);
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const msg = 'request not received in time (limits.headersTimeout, limits.requestTimeout)';
    return new BreakwaterError(ErrorCode.REQUEST_TIMEOUT, msg);
  }
  return new BreakwaterError(ErrorCode.REQUEST_INVALID, `bad request: ${err.code ?? err.message}`);
}

/** An `Expect` other than `100-continue`: Node's own 417 has no body. */
export function onUnknownExpectation(req: IncomingMessage, res: ServerResponse): void {
  const msg = `unsupported expectation: ${String(req.headers.expect).slice(0, 100)}`;
  refuse(req, res, 'openai', new BreakwaterError(ErrorCode.REQUEST_INVALID, msg, { refusal: 'expectation' }));
}

/** A request Node's parser refused: a JSON answer on the bare socket, then the connection closes. */
export function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // A response under way cannot be followed by another one: close (as Node's default handler does).
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  writeSocketError(socket, clientErrorOf(err));
}
