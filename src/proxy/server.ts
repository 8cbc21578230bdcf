import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { ListenAddress } from '../policy/index.ts';
import { errorEvent, writeJsonError, writeSocketError } from '../protocol/index.ts';
import { listenOrFail } from '../net/index.ts';
import { openStreams } from '../upstream/index.ts';
import type { Generation } from './generation.ts';
import { handleRequest, tunnelTargets, unknownHost } from './handler.ts';
import { normalizeAuthority } from './route-table.ts';

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
      const server = createServer({ keepAliveTimeout: 65_000 }, this.#onRequest);
      server.on('connect', this.#onConnect);
      server.on('clientError', onClientError);
      const address = await listenOrFail(server, a.host, a.port);
      this.#servers.push(server);
      bound.push(address);
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
        writeJsonError(res, 'openai', new BreakwaterError(ErrorCode.SHUTDOWN, reason));
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
      writeJsonError(
        res,
        'openai',
        new BreakwaterError(ErrorCode.INTERNAL, 'internal error', { cause: err }),
      );
    });
  };

  readonly #onConnect = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const authority = normalizeAuthority(req.url ?? '');
    if (!this.#gen.routes.isKnownAuthority(authority)) {
      writeSocketError(socket, unknownHost(authority));
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    tunnelTargets.set(socket, authority);
    if (head.length > 0) socket.unshift(head);
    // The tunnel carries plain HTTP: hand the socket back to the HTTP server as a new connection.
    this.#servers[0]!.emit('connection', socket);
  };
}

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  writeSocketError(
    socket,
    new BreakwaterError(ErrorCode.REQUEST_INVALID, `bad request: ${err.code ?? err.message}`),
  );
}
