import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { BreakwaterError } from '../errors/index.ts';
import type { Protocol } from './endpoint.ts';
import { errorBody } from './error-body.ts';

/**
 * The one writer of JSON errors (docs/design.md#error-mapping): the error's status from the code
 * table, its body in the client's protocol, `extra` headers on top. When headers already went out
 * there is no way left to say it in HTTP: the connection is destroyed.
 */
export function writeJsonError(
  res: ServerResponse,
  protocol: Protocol,
  err: BreakwaterError,
  extra?: Readonly<Record<string, string>>,
): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = errorBody(protocol, err.status, err.message, err.code);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  };
  if (extra !== undefined) for (const name in extra) headers[name] = extra[name]!;
  res.writeHead(err.status, headers);
  res.end(body);
}

/**
 * The same error on a bare socket, where no response object exists (a refused CONNECT, a request
 * Node could not parse): OpenAI shape, then the connection is closed.
 */
export function writeSocketError(socket: Socket, err: BreakwaterError): void {
  const body = errorBody('openai', err.status, err.message, err.code);
  const reason = STATUS_CODES[err.status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${err.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
