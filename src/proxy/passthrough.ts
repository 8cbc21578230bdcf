import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { createProxyServer } from 'http-proxy-3';
import type { UpstreamRuntime } from '../upstream/index.ts';

/** Called with an error when the pass-through upstream could not be reached. */
export type PassthroughFailed = (err: Error) => void;

/**
 * Plain pass-through of non-LLM paths (`GET /v1/models`, `/health`, …) with http-proxy-3. These
 * calls do not count against breakers; they go to the first tier whose breaker is not open.
 */
export class Passthrough {
  readonly #proxy = createProxyServer({ changeOrigin: true, xfwd: false, ws: false });
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 256 });

  constructor() {
    // Errors are reported per call through the callback; this listener keeps stray ones from
    // becoming uncaught exceptions.
    this.#proxy.on('error', () => undefined);
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
    this.#proxy.web(
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
    this.#proxy.close();
  }
}
