import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { systemClock, type Clock } from '../clock/index.ts';
import { silentLogger, type Logger } from '../log/index.ts';
import { applyConfig, defaultConfig } from './config.ts';
import { CONTROL_PREFIX, handleControl, type ControlTarget } from './control.ts';
import { deliver, resetSocket, type DeliveryContext } from './delivery.ts';
import { ActiveFault, NO_FAULT, parseFault } from './fault.ts';
import { HostCheck, isLoopbackHost } from './host-check.ts';
import { tagsBody } from './ollama-wire.ts';
import { ReplyCache } from './reply.ts';
import { closeServer, listen, parseBody, pathOf } from './http-util.ts';
import { findRoute, type RouteEnv, type RouteTable } from './route.ts';
import { MAX_ROUTES } from './routes-max.ts';
import { OLLAMA_ROUTES } from './routes-ollama.ts';
import { StatsRecorder } from './stats.ts';
import {
  FaultMode,
  MockKind,
  type FaultSpec,
  type MockConfig,
  type MockOptions,
  type MockStats,
} from './types.ts';
import { jsonReply } from './wire.ts';

const EMPTY = Buffer.alloc(0);

/** One running mock: the API listener, the control listener, and the state both share. */
export class MockInstance implements RouteEnv, DeliveryContext, ControlTarget {
  readonly kind: MockKind;
  readonly clock: Clock;
  readonly replies: ReplyCache;
  readonly #host: string;
  readonly #log: Logger;
  readonly #table: RouteTable;
  /** Non-null when Ollama's foreign-Host 403 applies (bound to loopback). */
  readonly #hostCheck: HostCheck | null;
  readonly #main: Server;
  readonly #control: Server;
  readonly #sockets = new Set<Socket>();
  readonly #stats = new StatsRecorder();
  #config: MockConfig;
  #fault: ActiveFault = NO_FAULT;
  #refused = false;
  #closed = false;
  #port = 0;
  #controlPort = 0;
  #seq = 0;
  #isoMs = -1;
  #iso = '';
  #tags = '';
  #faultChain: Promise<void> = Promise.resolve();

  constructor(options: MockOptions) {
    this.kind = options.kind;
    this.clock = options.clock ?? systemClock;
    this.#host = options.host ?? '127.0.0.1';
    this.#log = options.logger ?? silentLogger();
    this.#table = options.kind === MockKind.MAX ? MAX_ROUTES : OLLAMA_ROUTES;
    this.#hostCheck = options.kind === MockKind.OLLAMA && isLoopbackHost(this.#host) ? new HostCheck() : null;
    const patch: Record<string, unknown> = {};
    for (const key of ['streamChunks', 'chunkDelayMs', 'replyText', 'models', 'strictModels'] as const) {
      if (options[key] !== undefined) patch[key] = options[key];
    }
    this.#config = applyConfig(defaultConfig(options.kind), patch);
    this.replies = new ReplyCache(options.kind, this.#config);
    this.#tags = tagsBody(this.#config.models, new Date(this.clock.now()).toISOString());
    this.#main = createServer((req, res) => this.#onRequest(req, res));
    this.#main.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#control = createServer((req, res) => this.#onControl(req, res));
  }

  get port(): number {
    return this.#port;
  }
  get controlPort(): number {
    return this.#controlPort;
  }
  get host(): string {
    return this.#host;
  }
  get chunkDelayMs(): number {
    return this.#config.chunkDelayMs;
  }

  /** Binds both listeners, then applies the initial fault. */
  async start(port: number, controlPort: number, fault: FaultSpec | undefined): Promise<void> {
    this.#port = await listen(this.#main, this.#host, port);
    try {
      this.#controlPort = await listen(this.#control, this.#host, controlPort);
    } catch (err) {
      this.#main.close();
      throw err;
    }
    if (fault !== undefined) await this.applyFault(parseFault(fault), null);
  }

  // --- RouteEnv ---
  config(): MockConfig {
    return this.#config;
  }
  nextId(): number {
    return ++this.#seq;
  }
  nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }
  nowIso(): string {
    const ms = this.clock.now();
    if (ms !== this.#isoMs) {
      this.#isoMs = ms;
      this.#iso = new Date(ms).toISOString();
    }
    return this.#iso;
  }
  tagsBody(): string {
    return this.#tags;
  }

  // --- ControlTarget ---
  fault(): FaultSpec {
    return this.#fault.toSpec();
  }
  stats(): MockStats {
    return this.#stats.snapshot();
  }
  resetStats(): void {
    this.#stats.reset();
  }
  waitForRequests(count: number): Promise<MockStats> {
    return this.#stats.waitFor(count);
  }
  configure(patch: unknown): void {
    const next = applyConfig(this.#config, patch);
    if (next.models !== this.#config.models) this.#tags = tagsBody(next.models, this.nowIso());
    this.#config = next;
    this.replies.setConfig(next);
    this.#log.info({ mock: this.kind, config: next }, 'mock configuration changed');
  }

  /** Replaces the active fault; calls are serialised so refuse/restore never interleave. */
  applyFault(spec: FaultSpec, exempt: Socket | null): Promise<void> {
    const run = this.#faultChain.then(() => this.#setFault(new ActiveFault(spec), exempt));
    this.#faultChain = run.catch(() => undefined);
    return run;
  }

  async #setFault(next: ActiveFault, exempt: Socket | null): Promise<void> {
    if (this.#closed) return;
    this.#fault = next;
    this.#log.info({ mock: this.kind, fault: next.toSpec() }, 'mock fault set');
    if (next.mode === FaultMode.REFUSE) {
      if (!this.#refused) this.#stopListening(exempt);
    } else if (this.#refused) {
      await this.#listenAgain();
    }
  }

  /** Closes the listening socket (connects get ECONNREFUSED) and drops every open connection. */
  #stopListening(exempt: Socket | null): void {
    this.#refused = true;
    this.#main.close();
    for (const s of this.#sockets) if (s !== exempt) s.destroy();
  }

  async #listenAgain(): Promise<void> {
    try {
      await listen(this.#main, this.#host, this.#port);
      this.#refused = false;
    } catch (err) {
      this.#fault = new ActiveFault({ mode: FaultMode.REFUSE });
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    await Promise.all([closeServer(this.#main), closeServer(this.#control)]);
  }

  #onControl(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url);
    handleControl(
      this,
      req,
      res,
      path.startsWith(`${CONTROL_PREFIX}/`) ? path.slice(CONTROL_PREFIX.length) : path,
      false,
    );
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url);
    if (path.startsWith(`${CONTROL_PREFIX}/`)) {
      handleControl(this, req, res, path.slice(CONTROL_PREFIX.length), true);
      return;
    }
    const method = req.method ?? 'GET';
    const route = findRoute(this.#table, method, path);
    const llm = typeof route === 'object' && route !== null && route.llm;
    this.#stats.count(path);
    res.on('close', () => this.#stats.done());

    let fault = this.#fault;
    const hit = fault.mode !== FaultMode.NONE && fault.matches(path, llm);
    if (hit && fault.allPaths) {
      // Connection-level faults act before the body is read (and before Ollama's Host check).
      this.#hit(fault);
      this.#stats.record(method, path, req.headers, null);
      if (fault.mode === FaultMode.HANG) req.resume();
      else resetSocket(res);
      return;
    }
    if (this.#hostCheck !== null && !this.#hostCheck.allowed(req.headers.host)) {
      this.#stats.record(method, path, req.headers, null);
      req.resume();
      res.writeHead(403, { 'content-length': 0 }).end();
      return;
    }
    if (hit) this.#hit(fault);
    else fault = NO_FAULT;

    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      this.#dispatch(req, res, method, path, route, raw, fault);
    });
  }

  #hit(fault: ActiveFault): void {
    this.#stats.fault();
    if (fault.consume() && this.#fault === fault) {
      this.#fault = NO_FAULT;
      this.#log.info({ mock: this.kind }, 'mock fault used up; back to none');
    }
  }

  #dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    route: ReturnType<typeof findRoute>,
    raw: Buffer,
    fault: ActiveFault,
  ): void {
    const body = parseBody(raw);
    this.#stats.record(
      method,
      path,
      req.headers,
      body.ok ? body.value : raw.length === 0 ? null : raw.toString(),
    );
    if (this.kind === MockKind.OLLAMA && method === 'OPTIONS') {
      deliver(this, res, this.#table.fallbackStyle, jsonReply(204, '', ''), null);
      return;
    }
    const table = this.#table;
    if (route === null) return deliver(this, res, table.fallbackStyle, table.notFound, fault);
    if (route === 'method') return deliver(this, res, table.fallbackStyle, table.methodNotAllowed, fault);
    let obj: Record<string, unknown> = {};
    if (route.json) {
      if (!body.ok || typeof body.value !== 'object' || body.value === null || Array.isArray(body.value)) {
        return deliver(this, res, route.style, table.badBody(route.style, body), fault);
      }
      obj = body.value as Record<string, unknown>;
    }
    deliver(this, res, route.style, route.handle(this, obj, path), fault);
  }
}
