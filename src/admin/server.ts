import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BreakerSnapshot, CircuitBreaker } from '../breaker/index.ts';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { closeHttp, listenHttp, sendJson, sendJsonError, sendMetrics } from '../health/index.ts';
import type { Logger } from '../log/index.ts';
import type { Metrics } from '../metrics/index.ts';
import { isLoopbackHost, type ListenAddress, type Policy } from '../policy/index.ts';
import type { ReloadFailure } from '../reload/index.ts';
import { checkControl } from './auth.ts';
import { fleetControl, sendFleetView, type FleetAdmin } from './fleet-routes.ts';
import { ADMIN_PAGE_HTML } from './page.ts';
import { tierUsage } from './tier-usage.ts';

/** What the admin API reads and steers; every read is of the live state. */
export interface AdminSource {
  /** The active policy. */
  readonly policy: Policy;
  readonly metrics: Metrics;
  /** Every breaker: upstreams in policy order, then the cache store's own. */
  breakers(): readonly CircuitBreaker[];
  /** The last rejected reload, or null. */
  lastReloadError(): ReloadFailure | null;
  /** The fleet agent in fleet mode (`/fleet`), else null. */
  readonly fleet: FleetAdmin | null;
}

/** Longest reason accepted by `POST /circuit-breakers/NAME/open`, in characters. */
const MAX_REASON_CHARS = 200;
/** Largest control-call body read, in bytes. */
const MAX_BODY_BYTES = 4096;

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-length': Buffer.byteLength(ADMIN_PAGE_HTML),
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
} as const;

function snapshots(list: readonly CircuitBreaker[]): { circuit_breakers: Record<string, BreakerSnapshot> } {
  const out: Record<string, BreakerSnapshot> = {};
  for (const b of list) out[b.name] = b.snapshot();
  return { circuit_breakers: out };
}

/** A breaker name from a path segment (`%2F` and friends decoded); a bad escape is a 400. */
function nameOf(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BreakwaterError(ErrorCode.REQUEST_INVALID, `bad breaker name in path: ${segment}`, 400);
  }
}

function notFound(name: string): BreakwaterError {
  return new BreakwaterError(
    ErrorCode.BREAKER_NOT_FOUND,
    `no circuit breaker named ${JSON.stringify(name)}`,
    404,
  );
}

async function readReason(req: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new BreakwaterError(ErrorCode.BODY_TOO_LARGE, `body larger than ${MAX_BODY_BYTES} bytes`, 413);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BreakwaterError(ErrorCode.REQUEST_INVALID, 'body must be JSON: {"reason": "..."}', 400);
  }
  const reason = (parsed as { reason?: unknown } | null)?.reason;
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string' || reason.length > MAX_REASON_CHARS) {
    throw new BreakwaterError(
      ErrorCode.REQUEST_INVALID,
      `reason: expected a string of at most ${MAX_REASON_CHARS} characters`,
      400,
    );
  }
  return reason;
}

/**
 * The admin listener (`listen.admin`, SPEC §6): breaker inspection and control, the active
 * policy, metrics and the web page. Reads (GET) are open; control calls (POST) follow
 * `checkControl`. Every error is JSON with a stable `code`.
 */
export class AdminServer {
  readonly #server: Server;
  /** The bound address (the real port when the policy said 0). */
  readonly address: AddressInfo;

  private constructor(server: Server, address: AddressInfo) {
    this.#server = server;
    this.address = address;
  }

  /** Binds `listen` and serves `source`; rejects with `BW_ERR_LISTEN_FAILED`. */
  static async start(source: AdminSource, listen: ListenAddress, logger: Logger): Promise<AdminServer> {
    const loopbackBound = isLoopbackHost(listen.host);
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      route(source, loopbackBound, logger, req, res).catch((err: unknown) => {
        const known = err instanceof BreakwaterError && err.status < 500;
        if (!known) logger.error({ err }, 'admin handler failed');
        const e = known ? err : new BreakwaterError(ErrorCode.INTERNAL, 'internal error', 500);
        if (!res.headersSent) sendJsonError(res, e);
        else res.destroy();
      });
    };
    const { server, address } = await listenHttp(listen.host, listen.port, handler);
    return new AdminServer(server, address);
  }

  close(): Promise<void> {
    return closeHttp(this.#server);
  }
}

async function route(
  source: AdminSource,
  loopbackBound: boolean,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  const parts = path.split('/').filter((p) => p !== '');
  if (method === 'GET' || method === 'HEAD') {
    await read(source, path, parts, res);
    return;
  }
  if (method !== 'POST' || (parts[0] !== 'circuit-breakers' && parts[0] !== 'fleet')) {
    req.resume();
    const allow = parts[0] === 'circuit-breakers' ? 'GET, HEAD, POST' : 'GET, HEAD';
    sendJsonError(
      res,
      new BreakwaterError(ErrorCode.REQUEST_INVALID, `method ${method} not allowed on ${path}`, 405),
      {
        allow,
      },
    );
    return;
  }
  const denied = checkControl(req, source.policy.admin.token, loopbackBound);
  if (denied !== null) {
    req.resume();
    sendJsonError(
      res,
      denied,
      denied.status === 401 ? { 'www-authenticate': 'Bearer realm="breakwater-admin"' } : undefined,
    );
    return;
  }
  if (parts[0] === 'fleet') return fleetControl(source.fleet, parts, req, res, logger);
  const breakers = source.breakers();
  if (parts.length === 2 && parts[1] === 'reset') {
    req.resume();
    for (const b of breakers) b.reset();
    logger.warn({ breakers: breakers.map((b) => b.name) }, 'every breaker reset via admin API');
    sendJson(res, 200, snapshots(breakers));
    return;
  }
  const action = parts[2];
  if (parts.length !== 3 || (action !== 'reset' && action !== 'open')) {
    req.resume();
    throw new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, `no admin endpoint POST ${path}`, 404);
  }
  const name = nameOf(parts[1]!);
  const breaker = breakers.find((b) => b.name === name);
  if (breaker === undefined) {
    req.resume();
    throw notFound(name);
  }
  if (action === 'reset') {
    req.resume();
    breaker.reset();
  } else {
    breaker.forceOpen(await readReason(req));
  }
  logger.warn(
    { breaker: name, action },
    `breaker ${name} ${action === 'reset' ? 'reset' : 'forced open'} via admin API`,
  );
  sendJson(res, 200, snapshots([breaker]));
}

async function read(source: AdminSource, path: string, parts: string[], res: ServerResponse): Promise<void> {
  if (path === '/' || path === '/index.html') {
    res.writeHead(200, PAGE_HEADERS);
    res.end(ADMIN_PAGE_HTML);
    return;
  }
  if (path === '/metrics') return sendMetrics(res, source.metrics);
  if (path === '/fleet') return sendFleetView(source.fleet, res);
  if (path === '/tier-usage') {
    sendJson(res, 200, { tier_usage: await tierUsage(source.policy, source.metrics) });
    return;
  }
  if (path === '/config') {
    const p = source.policy;
    sendJson(res, 200, {
      sha256: p.source.sha256,
      file: p.source.file,
      loaded_at: new Date(p.source.loadedAtMs).toISOString(),
      last_reload_error: source.lastReloadError(),
      policy: p.redacted,
    });
    return;
  }
  if (parts[0] === 'circuit-breakers' && parts.length <= 2) {
    const all = source.breakers();
    if (parts.length === 1) {
      sendJson(res, 200, snapshots(all));
      return;
    }
    const name = nameOf(parts[1]!);
    const b = all.find((x) => x.name === name);
    if (b === undefined) throw notFound(name);
    sendJson(res, 200, snapshots([b]));
    return;
  }
  throw new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, `no admin endpoint GET ${path}`, 404);
}
