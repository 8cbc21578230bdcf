import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { LimitsPolicy, ListenAddress } from '../policy/index.ts';
import { errorEvent } from '../protocol/index.ts';
import { openStreams } from '../upstream/index.ts';
import type { Generation } from './generation.ts';
import { parseAuthority } from './authority.ts';
import { handleRequest, sendError, sendSocketError, unknownHost } from './handler.ts';
import { tunnelTargets } from './target.ts';

/** Node's default, set explicitly so the documented bound holds whatever `--max-http-header-size` says. */
const MAX_HEADER_BYTES = 16 * 1024;
/** How often Node checks `headersTimeout` and `requestTimeout` (its default is 30 s). */
const TIMEOUT_CHECK_MS = 1_000;

/**
 * The public listener(s) the application's LLM calls reach: origin-form, absolute-form
 * (`HTTP_PROXY`) and plain-HTTP `CONNECT` tunnels (Node's `fetch` under `NODE_USE_ENV_PROXY=1`),
 * all routed alike. Counts requests in flight so shutdown can drain.
 */
export class ProxyServer {
  #gen: Generation;
  readonly #logger: Logger;
  readonly #servers: Server[];
  #inflight: number;
  #lastActivityMs: number;
  readonly #idleWaiters: Set<() => void>;
  readonly #responses: Set<ServerResponse>;

  constructor(gen: Generation, logger: Logger) {
    this.#gen = gen;
    this.#logger = logger;
    this.#servers = [];
    this.#inflight = 0;
    this.#lastActivityMs = gen.chain.clock.now();
    this.#idleWaiters = new Set();
    this.#responses = new Set();
  }

  /** The generation new requests use; requests in flight keep theirs. */
  get generation(): Generation {
    return this.#gen;
  }

  setGeneration(gen: Generation): void {
    this.#gen = gen;
    for (const s of this.#servers) applyTimeouts(s, gen.policy.limits);
  }

  /** Requests in flight now. */
  get inflight(): number {
    return this.#inflight;
  }

  /** ms since epoch when the last request ended (or started, while some are in flight). */
  get lastActivityMs(): number {
    return this.#lastActivityMs;
  }

  /** Binds every address; resolves with the bound addresses (port 0 → the real port). */
  async listen(addresses: readonly ListenAddress[]): Promise<AddressInfo[]> {
    const bound: AddressInfo[] = [];
    for (const a of addresses) {
      const limits = this.#gen.policy.limits;
      const server = createServer(
        {
          keepAliveTimeout: 65_000,
          maxHeaderSize: MAX_HEADER_BYTES,
          headersTimeout: limits.headersTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          connectionsCheckingInterval: TIMEOUT_CHECK_MS,
          // Node's own answer to a missing Host has no body: targetOf gives the JSON one.
          requireHostHeader: false,
        },
        this.#onRequest,
      );
      server.on('connect', this.#onConnect);
      server.on('clientError', onClientError);
      server.on('checkExpectation', onUnknownExpectation);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            new BreakwaterError(
              ErrorCode.LISTEN_FAILED,
              `cannot listen on ${a.host}:${a.port}: ${err.code ?? err.message}`,
              500,
              { cause: err },
            ),
          ),
        );
        server.listen(a.port, a.host, () => resolve());
      });
      this.#servers.push(server);
      bound.push(server.address() as AddressInfo);
    }
    return bound;
  }

  /** Resolves once no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  /** Stops accepting connections; idle keep-alive connections are closed. */
  async close(): Promise<void> {
    await Promise.all(
      this.#servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          }),
      ),
    );
  }

  /** Ends every response still open (shutdown timeout): streams get a final error event. */
  abortAll(reason: string): void {
    for (const res of this.#responses) {
      if (!res.headersSent) {
        sendError(res, 'openai', new BreakwaterError(ErrorCode.SHUTDOWN, reason, 503));
        continue;
      }
      const stream = openStreams.get(res);
      if (stream !== undefined && !res.writableEnded) {
        res.end(errorEvent(stream.framing, stream.protocol, reason, ErrorCode.SHUTDOWN));
      } else {
        res.destroy();
      }
    }
    for (const s of this.#servers) s.closeAllConnections();
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const gen = this.#gen;
    this.#inflight++;
    this.#responses.add(res);
    this.#lastActivityMs = gen.chain.clock.now();
    res.on('close', () => {
      this.#responses.delete(res);
      this.#inflight--;
      this.#lastActivityMs = gen.chain.clock.now();
      if (this.#inflight === 0 && this.#idleWaiters.size > 0) {
        for (const w of this.#idleWaiters) w();
        this.#idleWaiters.clear();
      }
    });
    handleRequest(gen, req, res).catch((err: unknown) => {
      this.#logger.error({ err }, 'request handler failed');
      sendError(
        res,
        'openai',
        new BreakwaterError(ErrorCode.INTERNAL, 'internal error', 500, { cause: err }),
      );
    });
  };

  readonly #onConnect = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    // CONNECT takes authority-form only: host and port (RFC 9110 §9.3.6).
    const authority = parseAuthority(req.url ?? '', true);
    if (authority === null) {
      const msg = `invalid CONNECT target: ${(req.url ?? '').slice(0, 200)}`;
      sendSocketError(socket, new BreakwaterError(ErrorCode.REQUEST_INVALID, msg, 400));
      return;
    }
    if (!this.#gen.routes.isKnownAuthority(authority)) {
      sendSocketError(socket, unknownHost(authority));
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    tunnelTargets.set(socket, authority);
    if (head.length > 0) socket.unshift(head);
    // The tunnel carries plain HTTP: hand the socket back to the HTTP server as a new connection.
    this.#servers[0]!.emit('connection', socket);
  };
}

function applyTimeouts(server: Server, limits: LimitsPolicy): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
}

/** What a request Node's parser refused, or one that timed out, gets: Node's statuses, JSON bodies. */
function clientErrorOf(err: NodeJS.ErrnoException): BreakwaterError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const msg = `request headers larger than ${MAX_HEADER_BYTES} bytes`;
    return new BreakwaterError(ErrorCode.HEADERS_TOO_LARGE, msg, 431);
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const msg = 'request not received in time (limits.headersTimeout, limits.requestTimeout)';
    return new BreakwaterError(ErrorCode.REQUEST_TIMEOUT, msg, 408);
  }
  return new BreakwaterError(ErrorCode.REQUEST_INVALID, `bad request: ${err.code ?? err.message}`, 400);
}

/** An `Expect` other than `100-continue`: Node's own 417 has no body. */
function onUnknownExpectation(req: IncomingMessage, res: ServerResponse): void {
  const msg = `unsupported expectation: ${String(req.headers.expect).slice(0, 100)}`;
  res.shouldKeepAlive = false;
  req.resume();
  sendError(res, 'openai', new BreakwaterError(ErrorCode.REQUEST_INVALID, msg, 417), { connection: 'close' });
}

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // A response under way cannot be followed by another one: close (as Node's default handler does).
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  sendSocketError(socket, clientErrorOf(err));
}
