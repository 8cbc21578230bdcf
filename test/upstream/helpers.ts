import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { BreakerSnapshot } from '../../src/breaker/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { parsePolicy } from '../../src/policy/index.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar/index.ts';

/** An upstream under the test's control, on 127.0.0.1 port 0. */
export interface Upstream {
  readonly url: string;
  /** Heads (request line and headers) of the requests received, in order. */
  readonly heads: string[];
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * A raw TCP upstream: `answer` gets the socket once a whole request (head and content-length
 * body) arrived, and writes whatever bytes the test wants.
 */
export async function rawUpstream(answer: (socket: Socket) => void): Promise<Upstream> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      socket.off('data', onData);
      heads.push(head);
      answer(socket);
    };
    socket.on('data', onData);
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A node:http upstream with the test's handler. */
export async function httpUpstream(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Upstream> {
  const heads: string[] = [];
  const server = createHttpServer((req, res) => {
    heads.push(`${req.method} ${req.url}\r\n${JSON.stringify(req.headers)}`);
    req.resume();
    req.on('end', () => handler(req, res));
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Writes `piece` `times` times (one reused buffer), with backpressure, and resolves with the bytes
 * the socket accepted once it is done, closed or errored. `onStall` is called once a write has
 * waited `stallMs` for its drain.
 */
export function pour(
  socket: NodeJS.WritableStream & { readonly destroyed: boolean },
  piece: Buffer,
  times: number,
  onStall?: () => void,
  stallMs = 500,
): Promise<number> {
  let written = 0;
  let n = 0;
  return new Promise((resolve) => {
    const done = (): void => resolve(written);
    socket.on('close', done);
    socket.on('error', done);
    const more = (): void => {
      while (n < times && !socket.destroyed) {
        n++;
        written += piece.length;
        if (!socket.write(piece)) {
          const stall = onStall ? setTimeout(onStall, stallMs) : null;
          socket.once('drain', () => {
            if (stall !== null) clearTimeout(stall);
            more();
          });
          return;
        }
      }
      done();
    };
    more();
  });
}

/** 64 KiB of `a`, framed as one HTTP/1.1 chunk. */
export const CHUNK_64K = Buffer.concat([
  Buffer.from('10000\r\n'),
  Buffer.alloc(64 * 1024, 'a'),
  Buffer.from('\r\n'),
]);

export const MiB = 1024 * 1024;

/** A whole sidecar (proxy, admin, health) guarding one upstream named `hostile`, then `degraded`. */
export interface Guard {
  readonly sidecar: Sidecar;
  readonly clock: ManualClock;
  readonly proxyUrl: string;
  readonly proxyPort: number;
  readonly healthUrl: string;
  /** The breaker snapshot of the `hostile` upstream. */
  breaker(): BreakerSnapshot;
  close(): Promise<void>;
}

/**
 * Starts the sidecar with a ManualClock: no timer fires unless the test advances it, so a loaded
 * machine never turns a slow test into a timeout.
 */
export async function guard(upstreamUrl: string, limits = '', idle = '5s'): Promise<Guard> {
  const clock = new ManualClock();
  const policy = parsePolicy(
    `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  hostile:
    url: ${upstreamUrl}
    timeout: { firstByte: 5s, idle: ${idle} }
routes:
  - name: chat
    match: { pathPrefix: / }
    chain:
      - upstream: hostile
      - degraded: { message: "Service temporarily unavailable" }
limits: { ${limits} }
`,
    { file: null, env: {} },
  );
  const sidecar = await startSidecar({ policy, logger: silentLogger(), clock });
  const proxyPort = sidecar.proxyAddresses[0]!.port;
  return {
    sidecar,
    clock,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    proxyPort,
    healthUrl: `http://127.0.0.1:${sidecar.healthAddress!.port}`,
    breaker: () =>
      sidecar
        .breakers()
        .find((b) => b.name === 'hostile')!
        .snapshot(),
    close: () => sidecar.close(),
  };
}

/** POSTs an OpenAI chat completion (`stream` as asked) to the proxy. */
export function chat(proxyUrl: string, stream = false): Promise<Response> {
  return fetch(`${proxyUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], stream }),
  });
}

/** POSTs an Ollama chat (a stream by default) to the proxy. */
export function ollamaChat(proxyUrl: string): Promise<Response> {
  return fetch(`${proxyUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] }),
  });
}

/** The bytes of a chat completion answer. */
export const ANSWER = JSON.stringify({
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
});

/** One SSE token event. */
export function sseEvent(text: string): string {
  return `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
}

/** Samples the process's resident memory every 5 ms; `stop()` gives the peak growth in bytes. */
export function rssWatch(): { stop(): number } {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return peak - base;
    },
  };
}

/**
 * The longest stretch of CPU time the main thread spent between two ticks of a 2 ms timer, in
 * ms: how long the event loop was held by work, whatever the machine's load (time spent waiting
 * for a core is not CPU time).
 */
export function loopStallWatch(): { stop(): number } {
  const cpu = (): number => {
    const u = process.threadCpuUsage?.() ?? process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let prev = cpu();
  let max = 0;
  const timer = setInterval(() => {
    const now = cpu();
    max = Math.max(max, now - prev);
    prev = now;
  }, 2);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, cpu() - prev);
    },
  };
}
