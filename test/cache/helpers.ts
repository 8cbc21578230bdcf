import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { CacheRequest, ResponseCache } from '../../src/cache/index.ts';
import type { BreakerPolicy, CachePolicy } from '../../src/policy/types.ts';
import { CACHE_KEY_HEADERS } from '../../src/policy/index.ts';
import { endpointOf, protocolOfPath } from '../../src/protocol/index.ts';
import type { RecordedAnswer } from '../../src/upstream/index.ts';

/** A breaker policy for tests: opens after 2 failures, one success closes it, no jitter. */
export function breakerPolicy(overrides: Partial<BreakerPolicy> = {}): BreakerPolicy {
  return {
    failureThreshold: 2,
    recoveryTimeoutMs: 30_000,
    successThreshold: 1,
    halfOpenMaxRequests: 1,
    backoffMultiplier: 2,
    maxRecoveryTimeoutMs: 300_000,
    jitter: 0,
    failureRate: null,
    ...overrides,
  };
}

/** The compiled cache policy with its documented defaults, overridable. */
export function cachePolicy(overrides: Partial<CachePolicy> = {}): CachePolicy {
  return {
    backend: 'memory',
    url: null,
    ttlMs: 3_600_000,
    maxEntries: 10_000,
    maxBytes: 64 * 1024 * 1024,
    maxEntryBytes: 1024 * 1024,
    keyPrefix: 'breakwater:',
    keyHeaders: CACHE_KEY_HEADERS,
    commandTimeoutMs: 50,
    breaker: breakerPolicy(),
    ...overrides,
  };
}

export interface RequestOptions {
  routeName?: string;
  /** Shorthand for an `Authorization` header among the raw headers. */
  authorization?: string | undefined;
  /** The client's raw headers (`[name, value, …]`); default: only `authorization`, when given. */
  rawHeaders?: readonly string[];
  noStore?: boolean;
  /** Default: the body's `stream`, or the endpoint's default when absent. */
  stream?: boolean;
}

/** A CacheRequest as the request path builds it from a POST to `path` with `body`. */
export function cacheRequest(
  path: string,
  body: Record<string, unknown>,
  options: RequestOptions = {},
): CacheRequest {
  const endpoint = endpointOf('POST', path);
  if (endpoint === null) throw new Error(`not an LLM path: ${path}`);
  const stream =
    options.stream ?? (body.stream === undefined ? endpoint.streamsByDefault : body.stream === true);
  return {
    routeName: options.routeName ?? 'default',
    path,
    endpoint,
    json: body,
    model: typeof body.model === 'string' ? body.model : null,
    stream,
    rawHeaders:
      options.rawHeaders ??
      (options.authorization === undefined ? [] : ['Authorization', options.authorization]),
    noStore: options.noStore ?? false,
  };
}

/** A recorded upstream answer. */
export function recorded(framing: RecordedAnswer['framing'], body: string, status = 200): RecordedAnswer {
  const contentType =
    framing === 'sse'
      ? 'text/event-stream'
      : framing === 'ndjson'
        ? 'application/x-ndjson'
        : 'application/json';
  return { status, contentType, framing, body: Buffer.from(body) };
}

/** An SSE body from event objects, ending in `data: [DONE]`. */
export function sse(...events: unknown[]): string {
  return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
}

/** An NDJSON body from records. */
export function ndjson(...records: unknown[]): string {
  return records.map((r) => JSON.stringify(r) + '\n').join('');
}

/** A logger whose JSON lines are kept in `lines` (parsed). */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** Headers the request path hands `serve`. */
export const EXTRA_HEADERS = Object.freeze({ 'x-breakwater-tier': 'cache', 'x-breakwater-route': 'default' });

/**
 * A tiny server standing in for the request path: a cache hit is served by `cache.serve`; on a
 * miss it answers with `upstream` (when set) and records it with `cache.store`, like the chain.
 */
export interface PathServer {
  readonly url: string;
  /** What a miss answers (and stores); null → 503. */
  upstream: RecordedAnswer | null;
  /** How many requests the cache answered. */
  hits: number;
  /** How many requests went to `upstream`. */
  misses: number;
  /** `maxStaleMs` handed to `serve`. */
  maxStaleMs: number | null;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startPathServer(cache: ResponseCache): Promise<PathServer> {
  const state = {
    upstream: null as RecordedAnswer | null,
    hits: 0,
    misses: 0,
    maxStaleMs: null as number | null,
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const body = JSON.parse((await readBody(req)).toString('utf8')) as Record<string, unknown>;
    const cr = cacheRequest(path, body, {
      rawHeaders: req.rawHeaders,
      noStore: /no-store/.test(req.headers['cache-control'] ?? ''),
    });
    const key = cache.keyFor(cr);
    if (key !== null && (await cache.serve(cr, key, state.maxStaleMs, res, EXTRA_HEADERS))) {
      state.hits++;
      return;
    }
    const up = state.upstream;
    if (up === null) {
      const protocol = protocolOfPath(path);
      res.writeHead(503, { 'content-type': 'application/json', 'x-should-retry': 'false' });
      res.end(
        protocol === 'ollama' ? '{"error":"miss"}' : '{"error":{"message":"miss","type":"server_error"}}',
      );
      return;
    }
    state.misses++;
    res.writeHead(up.status, { 'content-type': up.contentType, 'x-breakwater-tier': 'upstream' });
    res.end(up.body);
    if (key !== null) cache.store(cr, key, up);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  });
}
