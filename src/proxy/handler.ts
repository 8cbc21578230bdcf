import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { runChain, type ChainRequest } from '../fallback/index.ts';
import {
  endpointOf,
  protocolOfPath,
  writeJsonError,
  type EndpointInfo,
  type Protocol,
} from '../protocol/index.ts';
import type { Generation } from './generation.ts';
import { normalizeAuthority } from './route-table.ts';

/** Target of a CONNECT tunnel, by socket: its inner requests are routed to that authority. */
export const tunnelTargets = new WeakMap<Socket, string>();

/** The refusal of an absolute-form or CONNECT target that is no upstream and no route host. */
export function unknownHost(authority: string): BreakwaterError {
  const msg = `no route for host ${authority}: breakwater carries only its upstreams and route hosts`;
  return new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, msg);
}

interface Target {
  /** Normalized `host:port` the request was addressed to, or null. */
  readonly authority: string | null;
  /** True for absolute-form and tunnelled requests: only known hosts are carried. */
  readonly captured: boolean;
  readonly pathWithQuery: string;
}

function targetOf(req: IncomingMessage): Target | null {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 0x2f /* / */) {
    const tunnel = tunnelTargets.get(req.socket);
    if (tunnel !== undefined) return { authority: tunnel, captured: true, pathWithQuery: url };
    const host = req.headers.host;
    return {
      authority: host === undefined ? null : normalizeAuthority(host),
      captured: false,
      pathWithQuery: url,
    };
  }
  if (url.startsWith('http://')) {
    const slash = url.indexOf('/', 7);
    const authority = slash === -1 ? url.slice(7) : url.slice(7, slash);
    if (authority === '' || authority.includes('@')) return null;
    return {
      authority: normalizeAuthority(authority),
      captured: true,
      pathWithQuery: slash === -1 ? '/' : url.slice(slash),
    };
  }
  return null;
}

/** The client went away before its body arrived: nothing to answer. */
const ABORTED = Symbol('aborted');

/**
 * Reads the body up to `limit` bytes; resolves null when it is larger (the caller answers 413),
 * or ABORTED when the client went away first (an expected outcome, not an error).
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null | typeof ABORTED> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > limit) {
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', () => resolve(ABORTED));
    req.on('close', () => {
      if (!req.complete) resolve(ABORTED);
    });
  });
}

function parseJson(body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return null;
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function noStore(req: IncomingMessage): boolean {
  const cc = req.headers['cache-control'];
  return cc !== undefined && cc.toLowerCase().includes('no-store');
}

/** Handles one request on the proxy listener against generation `gen`. */
export async function handleRequest(
  gen: Generation,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const startedAtMs = gen.chain.clock.now();
  const target = targetOf(req);
  if (target === null) {
    writeJsonError(
      res,
      'openai',
      new BreakwaterError(ErrorCode.REQUEST_INVALID, `unsupported request target: ${req.url ?? ''}`),
    );
    return;
  }
  const q = target.pathWithQuery.indexOf('?');
  const path = q === -1 ? target.pathWithQuery : target.pathWithQuery.slice(0, q);
  const method = req.method ?? 'GET';
  const ei = endpointOf(method, path);
  const protocol = ei?.protocol ?? protocolOfPath(path);
  if (target.captured && !gen.routes.isKnownAuthority(target.authority!)) {
    req.resume();
    writeJsonError(res, protocol, unknownHost(target.authority!));
    return;
  }
  const match = gen.routes.match(target.authority, path);
  if (match === null) {
    req.resume();
    writeJsonError(
      res,
      protocol,
      new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, `no route for ${method} ${path}`),
    );
    return;
  }
  if (ei === null) {
    passthrough(
      gen,
      req,
      res,
      match.route.chain,
      match.startIndex,
      target.pathWithQuery,
      match.route.name,
      protocol,
    );
    return;
  }
  const body = await readBody(req, gen.policy.limits.maxRequestBodyBytes);
  if (body === ABORTED) return;
  if (body === null) {
    const limit = gen.policy.limits.maxRequestBodyBytes;
    res.shouldKeepAlive = false;
    req.resume();
    writeJsonError(
      res,
      protocol,
      new BreakwaterError(ErrorCode.BODY_TOO_LARGE, `request body larger than ${limit} bytes`),
      {
        connection: 'close',
      },
    );
    return;
  }
  const json = parseJson(body);
  if (json === null) {
    writeJsonError(
      res,
      protocol,
      new BreakwaterError(ErrorCode.REQUEST_INVALID, 'request body must be a JSON object'),
    );
    return;
  }
  const creq: ChainRequest = {
    routeName: match.route.name,
    path,
    endpoint: ei,
    json,
    model: typeof json.model === 'string' ? json.model : null,
    stream: streamRequested(json, ei),
    authorization: req.headers.authorization,
    noStore: noStore(req),
    method,
    pathWithQuery: target.pathWithQuery,
    rawHeaders: req.rawHeaders,
    connection: req.headers.connection,
    body,
    route: match.route,
    startIndex: match.startIndex,
    startedAtMs,
  };
  const inflight = gen.chain.metrics.inflightOf(match.route.name);
  inflight.inc();
  try {
    const exhausted = await runChain(gen.chain, creq, res);
    if (exhausted !== null) {
      const msg = `no tier could answer (${exhausted.skipped})`;
      writeJsonError(res, protocol, new BreakwaterError(ErrorCode.CHAIN_EXHAUSTED, msg), {
        'retry-after': String(exhausted.retryAfterSeconds),
        // Every fallback was already tried: an SDK retry would only multiply the load.
        'x-should-retry': 'false',
        'x-breakwater-tier': 'none',
        'x-breakwater-route': match.route.name,
        'x-breakwater-skipped': exhausted.skipped,
      });
    }
  } finally {
    inflight.dec();
  }
}

function streamRequested(json: Record<string, unknown>, ei: EndpointInfo): boolean {
  const s = json.stream;
  return s === undefined ? ei.streamsByDefault : s === true;
}

function passthrough(
  gen: Generation,
  req: IncomingMessage,
  res: ServerResponse,
  chain: Generation['policy']['routes'][number]['chain'],
  startIndex: number,
  pathWithQuery: string,
  routeName: string,
  protocol: Protocol,
): void {
  for (let i = startIndex; i < chain.length; i++) {
    const tier = chain[i]!;
    if (tier.kind !== 'upstream') continue;
    const up = gen.chain.upstreams.byName.get(tier.upstream)!;
    const s = up.breaker.state;
    if (s === 'open' || s === 'forced_open') continue;
    const headers = { 'x-breakwater-tier': tier.upstream, 'x-breakwater-route': routeName };
    gen.passthrough.forward(req, res, up, pathWithQuery, headers, (err) => {
      const msg = `pass-through to ${tier.upstream} failed: ${err.message}`;
      writeJsonError(res, protocol, new BreakwaterError(ErrorCode.PASSTHROUGH_FAILED, msg), headers);
    });
    return;
  }
  req.resume();
  writeJsonError(
    res,
    protocol,
    new BreakwaterError(ErrorCode.CHAIN_EXHAUSTED, `every upstream of route ${routeName} is open`),
    { 'x-breakwater-route': routeName, 'x-breakwater-tier': 'none', 'retry-after': '1' },
  );
}
