import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import type { Metrics } from '../metrics/index.ts';
import type { ListenAddress, Policy } from '../policy/index.ts';
import { closeHttp, listenHttp, sendJson, sendJsonError, sendMetrics } from './http.ts';
import { judgeReadiness, type BreakerLookup } from './readiness.ts';

/** What the health listener reads from the running sidecar; every read is of the live state. */
export interface HealthSource {
  /** The active policy (its readiness mode and routes). */
  readonly policy: Policy;
  /** True once the policy is loaded and every listener is bound. */
  readonly started: boolean;
  /** True from the first moment of shutdown. */
  readonly shuttingDown: boolean;
  readonly metrics: Metrics;
  /** The breakers of the active generation. */
  breakerLookup(): BreakerLookup;
}

/**
 * The health listener (`listen.health`, docs/operations.md#health-endpoints-and-readiness-modes): `/healthz/live`, `/healthz/ready`,
 * `/healthz/startup` and `/metrics`, for kubelet probes and Prometheus. GET and HEAD only.
 */
export class HealthServer {
  readonly #server: Server;
  /** The bound address (the real port when the policy said 0). */
  readonly address: AddressInfo;

  private constructor(server: Server, address: AddressInfo) {
    this.#server = server;
    this.address = address;
  }

  /** Binds `listen` and serves `source`; rejects with `BW_ERR_LISTEN_FAILED`. */
  static async start(source: HealthSource, listen: ListenAddress, logger: Logger): Promise<HealthServer> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      handle(source, req, res).catch((err: unknown) => {
        logger.error({ err }, 'health handler failed');
        if (!res.headersSent) sendJsonError(res, new BreakwaterError(ErrorCode.INTERNAL, 'internal error'));
        else res.destroy();
      });
    };
    const { server, address } = await listenHttp(listen.host, listen.port, handler);
    return new HealthServer(server, address);
  }

  close(): Promise<void> {
    return closeHttp(this.#server);
  }
}

async function handle(source: HealthSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJsonError(
      res,
      new BreakwaterError(ErrorCode.METHOD_NOT_ALLOWED, `method ${req.method} not allowed`),
      {
        allow: 'GET, HEAD',
      },
    );
    return;
  }
  switch (path) {
    case '/healthz/live':
      // Answering at all is the proof: the event loop runs. Never depends on upstreams.
      sendJson(res, 200, { status: 'alive' });
      return;
    case '/healthz/startup':
      sendJson(res, source.started ? 200 : 503, { status: source.started ? 'started' : 'starting' });
      return;
    case '/healthz/ready': {
      const r = judgeReadiness(source.policy, source.breakerLookup(), source);
      sendJson(res, r.ready ? 200 : 503, r);
      return;
    }
    case '/metrics':
      await sendMetrics(res, source.metrics);
      return;
    default:
      sendJsonError(res, new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, `no health endpoint ${path}`));
  }
}
