import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { ListenAddress } from '../policy/index.ts';
import { listenOrFail } from '../net/index.ts';
import { writeJsonError, writeSocketError } from '../protocol/index.ts';
import { ClientWriter } from '../upstream/index.ts';
import type { Generation } from './generation.ts';
import { BodyBudget } from './body-budget.ts';
import { handleRequest } from './handler.ts';
import { unknownHost } from './route-step.ts';
import { parseAuthority } from './authority.ts';
import { applyTimeouts, onClientError, onUnknownExpectation, serverOptions } from './client-errors.ts';

/**
 * The public listener(s) the application's LLM calls reach: origin-form, absolute-form
 * (`HTTP_PROXY`) and plain-HTTP `CONNECT` tunnels (Node's `fetch` under `NODE_USE_ENV_PROXY=1`),
 * all routed alike. Counts requests in flight so shutdown can drain.
 */
export class ProxyServer {
  #gen: Generation;
  /** LLM request bodies held at once, across generations (`limits.maxBufferedBytes`). */
  readonly bodies: BodyBudget;
  readonly #logger: Logger;
  readonly #servers: Server[];
  #inflight: number;
  #lastActivityMs: number;
  readonly #idleWaiters: Set<() => void>;
  /** The writer of every request in flight (shutdown ends them). */
  readonly #writers: Set<ClientWriter>;
  /**
   * One HTTP server per CONNECT authority (a bounded set: upstream and route hosts), never
   * listening: a tunnel's socket is handed to the server of its authority, so its requests carry
   * the authority from their server, not from a side table.
   */
  readonly #tunnels: Map<string, Server>;

  constructor(gen: Generation, logger: Logger) {
    this.#gen = gen;
    this.bodies = new BodyBudget(gen.policy.limits.maxBufferedBytes);
    this.#logger = logger;
    this.#servers = [];
    this.#inflight = 0;
    this.#lastActivityMs = gen.chain.clock.now();
    this.#idleWaiters = new Set();
    this.#writers = new Set();
    this.#tunnels = new Map();
  }

  /** The generation new requests use; requests in flight keep theirs. */
  get generation(): Generation {
    return this.#gen;
  }

  setGeneration(gen: Generation): void {
    this.#gen = gen;
    this.bodies.limit = gen.policy.limits.maxBufferedBytes;
    for (const s of this.#servers) applyTimeouts(s, gen.policy.limits);
    for (const s of this.#tunnels.values()) applyTimeouts(s, gen.policy.limits);
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
      const server = this.#httpServer(null);
      server.on('connect', this.#onConnect);
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
    for (const s of this.#tunnels.values()) s.closeIdleConnections();
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
    for (const writer of this.#writers) writer.abort(reason);
    for (const s of this.#servers) s.closeAllConnections();
    for (const s of this.#tunnels.values()) s.closeAllConnections();
  }

  /** An HTTP server for the listeners (`tunnel` null) or for the tunnels to one authority. */
  #httpServer(tunnel: string | null): Server {
    const server = createServer(serverOptions(this.#gen.policy.limits), (req, res) =>
      this.#onRequest(req, res, tunnel),
    );
    server.on('clientError', onClientError);
    server.on('checkExpectation', onUnknownExpectation);
    return server;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse, tunnel: string | null): void {
    const gen = this.#gen;
    const writer = new ClientWriter(res, 'openai');
    this.#inflight++;
    this.#writers.add(writer);
    this.#lastActivityMs = gen.chain.clock.now();
    res.on('close', () => this.#onClose(writer, gen));
    handleRequest(gen, req, writer, tunnel, this.bodies).catch((err: unknown) => {
      this.#logger.error({ err }, 'request handler failed');
      const error = new BreakwaterError(ErrorCode.INTERNAL, 'internal error', { cause: err });
      writeJsonError(res, 'openai', error);
    });
  }

  #onClose(writer: ClientWriter, gen: Generation): void {
    this.#writers.delete(writer);
    this.#inflight--;
    this.#lastActivityMs = gen.chain.clock.now();
    if (this.#inflight === 0 && this.#idleWaiters.size > 0) {
      for (const w of this.#idleWaiters) w();
      this.#idleWaiters.clear();
    }
  }

  readonly #onConnect = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    // CONNECT takes authority-form only: host and port (RFC 9110 §9.3.6).
    const authority = parseAuthority(req.url ?? '', true);
    if (authority === null) {
      const msg = `invalid CONNECT target: ${(req.url ?? '').slice(0, 200)}`;
      writeSocketError(socket, new BreakwaterError(ErrorCode.REQUEST_INVALID, msg));
      return;
    }
    if (!this.#gen.routes.isKnownAuthority(authority)) {
      writeSocketError(socket, unknownHost(authority));
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    let server = this.#tunnels.get(authority);
    if (server === undefined) this.#tunnels.set(authority, (server = this.#httpServer(authority)));
    // The tunnel carries plain HTTP: hand the socket to the tunnel server as a new connection.
    server.emit('connection', socket);
  };
}
