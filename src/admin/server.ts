import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BreakerSnapshot, CircuitBreaker } from '../breaker/index.ts';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { closeHttp, listenHttp, sendJson, sendJsonError, sendMetrics } from '../health/index.ts';
import type { Logger } from '../log/index.ts';
import type { Metrics } from '../metrics/index.ts';
import type { ListenAddress, Policy } from '../policy/index.ts';
import type { ReloadFailure } from '../reload/index.ts';
import { Access, AdminGuard } from './auth.ts';
import { readCommandBody } from './command-body.ts';
import { fleetControl, sendFleetView, type FleetAdmin } from './fleet-routes.ts';
import { ADMIN_PAGE_HTML } from './page.ts';
import { AdminEndpoint, breakerName, resolveRoute, type AdminRoute } from './routes.ts';
import { tierUsage } from './tier-usage.ts';
import { sendHistory, type HistorySource } from './history.ts';

/** What the admin API reads and steers; every read is of the live state. */
export interface AdminSource {
  /** The active policy. */
  readonly policy: Policy;
  readonly metrics: Metrics;
  /** Every breaker: upstreams in policy order, then the cache store's own. */
  breakers(): readonly CircuitBreaker[];
  /** The last rejected reload, or null. */
  lastReloadError(): ReloadFailure | null;
  /** The in-process history (`GET /history`); absent, the endpoint answers an empty one. */
  readonly history?: HistorySource;
  /** The fleet agent in fleet mode (`/fleet`), else null. */
  readonly fleet: FleetAdmin | null;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-length': Buffer.byteLength(ADMIN_PAGE_HTML),
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
} as const;

function snapshots(list: readonly CircuitBreaker[]): { circuit_breakers: Record<string, BreakerSnapshot> } {
  const out: Record<string, BreakerSnapshot> = {};
  for (const b of list) out[b.name] = b.snapshot();
  return { circuit_breakers: out };
}

function notFound(name: string): BreakwaterError {
  return new BreakwaterError(ErrorCode.BREAKER_NOT_FOUND, `no circuit breaker named ${JSON.stringify(name)}`);
}

/**
 * Node's own limits for the admin listener: a request has 10 s to arrive whole (headers and the
 * ≤ 4 KiB body) — an operator's call or a scrape takes milliseconds, and a slow client must not
 * hold a connection for Node's default 5 min. Headers stay within Node's 16 KiB default.
 * `requireHostHeader` is off so that a request without `Host` gets a JSON error, not Node's bare 400.
 */
const SERVER_OPTIONS = { requestTimeout: 10_000, headersTimeout: 10_000, requireHostHeader: false } as const;

/**
 * The admin listener (`listen.admin`, docs/operations.md#admin-api): breaker inspection and
 * control, the active policy, metrics and the web page. Every request passes {@link AdminGuard}
 * (Host, cross-site, token); GET / HEAD read, POST controls. Every error is JSON with a stable `code`.
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
    const guard = new AdminGuard(listen);
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      handle(source, guard, logger, req, res).catch((err: unknown) => {
        const known = err instanceof BreakwaterError && err.status < 500;
        if (!known) logger.error({ err }, 'admin handler failed');
        const e = known ? err : new BreakwaterError(ErrorCode.INTERNAL, 'internal error');
        req.resume();
        if (!res.headersSent) sendJsonError(res, e);
        else res.destroy();
      });
    };
    const { server, address } = await listenHttp(listen.host, listen.port, handler, SERVER_OPTIONS);
    return new AdminServer(server, address);
  }

  close(): Promise<void> {
    return closeHttp(this.#server);
  }
}

function refuse(req: IncomingMessage, res: ServerResponse, err: BreakwaterError, allow: string | null): void {
  req.resume();
  const extra: Record<string, string> = {};
  if (allow !== null) extra.allow = allow;
  if (err.status === 401) extra['www-authenticate'] = 'Bearer realm="breakwater-admin"';
  sendJsonError(res, err, extra);
}

async function handle(
  source: AdminSource,
  guard: AdminGuard,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const admin = source.policy.admin;
  const badHost = guard.checkHost(req, admin);
  if (badHost !== null) return refuse(req, res, badHost, null);
  const url = req.url ?? '';
  if (!url.startsWith('/')) {
    const err = new BreakwaterError(ErrorCode.REQUEST_INVALID, 'the admin API takes origin-form targets');
    return refuse(req, res, err, null);
  }
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  const r = resolveRoute(method, path);
  if ('error' in r) return refuse(req, res, r.error, r.allow);
  const denied = guard.checkAccess(req, admin, r.access);
  if (denied !== null) return refuse(req, res, denied, null);
  if (r.access !== Access.CONTROL) {
    req.resume();
    return read(source, r, res);
  }
  return control(source, r, logger, req, res);
}

async function control(
  source: AdminSource,
  r: AdminRoute,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (r.endpoint === AdminEndpoint.FLEET_OPEN || r.endpoint === AdminEndpoint.FLEET_RESET) {
    const action = r.endpoint === AdminEndpoint.FLEET_OPEN ? 'open' : 'reset';
    const name = breakerName(r.segment!);
    return fleetControl(source.fleet, ['fleet', 'circuit-breakers', name, action], req, res, logger);
  }
  const breakers = source.breakers();
  if (r.endpoint === AdminEndpoint.RESET_ALL) {
    req.resume();
    for (const b of breakers) b.reset();
    logger.warn({ breakers: breakers.map((b) => b.name) }, 'every breaker reset via admin API');
    sendJson(res, 200, snapshots(breakers));
    return;
  }
  const name = breakerName(r.segment!);
  const breaker = breakers.find((b) => b.name === name);
  if (breaker === undefined) throw notFound(name);
  if (r.endpoint === AdminEndpoint.RESET) {
    req.resume();
    breaker.reset();
  } else {
    breaker.forceOpen((await readCommandBody(req, ['reason'])).reason ?? undefined);
  }
  const action = r.endpoint === AdminEndpoint.RESET ? 'reset' : 'open';
  logger.warn(
    { breaker: name, action },
    `breaker ${name} ${action === 'reset' ? 'reset' : 'forced open'} via admin API`,
  );
  sendJson(res, 200, snapshots([breaker]));
}

async function read(source: AdminSource, r: AdminRoute, res: ServerResponse): Promise<void> {
  switch (r.endpoint) {
    case AdminEndpoint.PAGE:
      res.writeHead(200, PAGE_HEADERS);
      res.end(ADMIN_PAGE_HTML);
      return;
    case AdminEndpoint.METRICS:
      return sendMetrics(res, source.metrics);
    case AdminEndpoint.FLEET:
      return sendFleetView(source.fleet, res);
    case AdminEndpoint.TIER_USAGE:
      sendJson(res, 200, { tier_usage: await tierUsage(source.policy, source.metrics) });
      return;
    case AdminEndpoint.HISTORY:
      return sendHistory(res, source.history);
    case AdminEndpoint.CONFIG: {
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
    case AdminEndpoint.LIST:
      sendJson(res, 200, snapshots(source.breakers()));
      return;
    default: {
      const name = breakerName(r.segment!);
      const b = source.breakers().find((x) => x.name === name);
      if (b === undefined) throw notFound(name);
      sendJson(res, 200, snapshots([b]));
    }
  }
}
