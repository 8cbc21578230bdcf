/**
 * The benchmark's reference: a bare Node reverse proxy on undici's `Pool.dispatch()` with manual
 * backpressure and nothing else (no breaker, chain, cache, parsing or metrics), so that
 * breakwater's own cost shows as the difference. Usage: `node bench/bare-proxy.ts UPSTREAM_URL`;
 * prints `{"port": N}` once listening.
 */
import { createServer } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const pool = new Pool(process.argv[2]!, { connections: null, pipelining: 1 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'upgrade',
  'proxy-connection',
  'host',
]);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (!HOP.has(req.rawHeaders[i]!.toLowerCase()))
        headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    }
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(controller, status, h) {
        const out: Record<string, string | string[]> = {};
        for (const k in h) if (!HOP.has(k) && h[k] !== undefined) out[k] = h[k];
        res.writeHead(status, out);
        res.on('drain', () => controller.resume());
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) controller.pause();
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError(_c, err) {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err));
      },
    };
    pool.dispatch({ path: req.url!, method: req.method!, headers, body: Buffer.concat(chunks) }, handler);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
