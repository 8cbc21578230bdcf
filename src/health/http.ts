import {
  createServer,
  type RequestListener,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BreakwaterError } from '../errors/index.ts';
import type { Metrics } from '../metrics/index.ts';
import { listenOrFail } from '../net/index.ts';
import { writeJsonError } from '../protocol/index.ts';

/**
 * Binds a small control-plane HTTP server (health or admin). Rejects with `BW_ERR_LISTEN_FAILED`
 * naming the address when it cannot bind. Port 0 binds any free port (tests). `options` are added to
 * the defaults (`keepAliveTimeout` 5 s).
 */
export async function listenHttp(
  host: string,
  port: number,
  onRequest: RequestListener,
  options: ServerOptions = {},
): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer({ keepAliveTimeout: 5_000, ...options }, onRequest);
  const address = await listenOrFail(server, host, port);
  return { server, address };
}

/** Stops a control-plane server and ends its connections (probes and scrapes are short). */
export function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Sends `body` as JSON with `cache-control: no-store`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** Sends a JSON error (OpenAI shape, as every control-plane error) with `cache-control: no-store`. */
export function sendJsonError(
  res: ServerResponse,
  err: BreakwaterError,
  extra?: Readonly<Record<string, string>>,
): void {
  writeJsonError(res, 'openai', err, extra === undefined ? NO_STORE : { ...NO_STORE, ...extra });
}

const NO_STORE: Readonly<Record<string, string>> = Object.freeze({ 'cache-control': 'no-store' });

/** Serves the Prometheus text of `metrics` (breaker counters are synced at this moment). */
export async function sendMetrics(res: ServerResponse, metrics: Metrics): Promise<void> {
  const text = await metrics.text();
  res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
