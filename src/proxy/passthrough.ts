import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { ProxyServer, createProxyServer as CreateProxyServer } from 'http-proxy-3';
import {
  passthroughResponseHeaders,
  stripPassthroughRequestHeaders,
  type UpstreamRuntime,
} from '../upstream/index.ts';

/** Called with an error when the pass-through upstream could not be reached or answered badly. */
export type PassthroughFailed = (err: Error) => void;

/**
 * Plain pass-through of non-LLM paths (`GET /v1/models`, `/health`, …) with http-proxy-3. These
 * calls do not count against breakers; they go to the first tier whose breaker is not open.
 * Header hygiene is breakwater's, not http-proxy-3's (which forwards every request header and
 * copies every response header): hop-by-hop names, `proxy-authorization` and the names
 * `Connection` lists never reach the upstream, and an upstream's own `x-breakwater-*` never
 * reaches the client.
 */
export class Passthrough {
  #proxy: ProxyServer | null = null;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 256 });
  /** Per response in flight: its failure callback, and how long the upstream may stay silent. */
  readonly #calls = new WeakMap<ServerResponse, { failed: PassthroughFailed; silentMs: number }>();

  /** http-proxy-3 is loaded on the first pass-through, not at start (resident memory of every pod). */
  #proxyServer(): ProxyServer {
    if (this.#proxy !== null) return this.#proxy;
    const { createProxyServer } = createRequire(import.meta.url)('http-proxy-3') as {
      createProxyServer: typeof CreateProxyServer;
    };
    this.#proxy = createProxyServer({ changeOrigin: true, xfwd: false, ws: false, selfHandleResponse: true });
    // Errors are reported per call through the callback; this listener keeps stray ones from
    // becoming uncaught exceptions.
    this.#proxy.on('error', () => undefined);
    this.#proxy.on('proxyRes', this.#relay);
    this.#proxy.on('proxyReq', this.#armSilence);
    return this.#proxy;
  }

  /**
   * The upstream may stay silent for `timeout.firstByte` once the request body is sent (then
   * between reads of its answer), not from the start: a client's own slow upload is bounded by
   * `limits.bodyIdleTimeout` and must not be taken for a silent upstream.
   */
  readonly #armSilence = (proxyReq: ClientRequest, _req: IncomingMessage, res: ServerResponse): void => {
    const ms = this.#calls.get(res)?.silentMs ?? 0;
    if (ms <= 0) return;
    proxyReq.once('finish', () =>
      proxyReq.setTimeout(ms, () =>
        proxyReq.destroy(new Error(`no answer within ${ms}ms (timeout.firstByte)`)),
      ),
    );
  };

  readonly #relay = (proxyRes: IncomingMessage, _req: IncomingMessage, res: ServerResponse): void => {
    try {
      res.writeHead(proxyRes.statusCode ?? 502, passthroughResponseHeaders(proxyRes.headers));
    } catch (err) {
      // Node refuses a header value it would not send (ERR_INVALID_CHAR): a bad upstream answer.
      proxyRes.destroy();
      this.#calls.get(res)?.failed(err as Error);
      return;
    }
    proxyRes.on('error', () => res.destroy());
    proxyRes.pipe(res);
  };

  forward(
    req: IncomingMessage,
    res: ServerResponse,
    up: UpstreamRuntime,
    pathWithQuery: string,
    extraHeaders: Readonly<Record<string, string>>,
    failed: PassthroughFailed,
  ): void {
    const u = up.policy;
    req.url = u.basePath === '/' ? pathWithQuery : u.basePath + pathWithQuery;
    stripPassthroughRequestHeaders(req.headers);
    for (const name in extraHeaders) res.setHeader(name, extraHeaders[name]!);
    this.#calls.set(res, { failed, silentMs: u.timeouts.firstByteMs });
    this.#proxyServer().web(
      req,
      res,
      {
        target: u.origin,
        agent: this.#agent,
        headers: { ...u.headers },
      },
      (err: Error) => failed(err),
    );
  }

  close(): void {
    this.#agent.destroy();
    this.#proxy?.close();
  }
}
