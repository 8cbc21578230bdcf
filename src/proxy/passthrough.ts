import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { ProxyServer, createProxyServer as CreateProxyServer } from 'http-proxy-3';
import type { UpstreamRuntime } from '../upstream/index.ts';

/** Called with an error when the pass-through upstream could not be reached. */
export type PassthroughFailed = (err: Error) => void;

/**
 * Plain pass-through of non-LLM paths (`GET /v1/models`, `/health`, …) with http-proxy-3. These
 * calls do not count against breakers; they go to the first tier whose breaker is not open.
 */
export class Passthrough {
  #proxy: ProxyServer | null = null;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 256 });

  /** http-proxy-3 is loaded on the first pass-through, not at start (resident memory of every pod). */
  #proxyServer(): ProxyServer {
    if (this.#proxy !== null) return this.#proxy;
    const { createProxyServer } = createRequire(import.meta.url)('http-proxy-3') as {
      createProxyServer: typeof CreateProxyServer;
    };
    this.#proxy = createProxyServer({ changeOrigin: true, xfwd: false, ws: false });
    // Errors are reported per call through the callback; this listener keeps stray ones from
    // becoming uncaught exceptions.
    this.#proxy.on('error', () => undefined);
    return this.#proxy;
  }

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
    for (const name in extraHeaders) res.setHeader(name, extraHeaders[name]!);
    this.#proxyServer().web(
      req,
      res,
      {
        target: u.origin,
        agent: this.#agent,
        headers: { ...u.headers },
        proxyTimeout: u.timeouts.firstByteMs,
      },
      (err: Error) => failed(err),
    );
  }

  close(): void {
    this.#agent.destroy();
    this.#proxy?.close();
  }
}
