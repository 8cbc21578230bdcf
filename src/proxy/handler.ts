import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { runChain, type ChainRequest } from '../fallback/index.ts';
import {
  endpointOf,
  errorBody,
  protocolOfPath,
  type EndpointInfo,
  type Protocol,
} from '../protocol/index.ts';
import type { LimitsPolicy } from '../policy/index.ts';
import { parseJsonObject, readBody, watchBodyIdle, type BodyResult } from './body.ts';
import type { Generation } from './generation.ts';
import { targetOf } from './target.ts';

/** The one place errors become HTTP answers (STYLE §3): JSON in the client's protocol. */
export function sendError(
  res: ServerResponse,
  protocol: Protocol,
  err: BreakwaterError,
  extra?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = errorBody(protocol, err.status, err.message, err.code);
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...extra,
  });
  res.end(body);
}

/**
 * The same mapping for a bare socket, where no HTTP response object exists yet (a refused CONNECT,
 * a request Node could not parse); the connection is closed after it.
 */
export function sendSocketError(socket: Socket, err: BreakwaterError): void {
  const body = errorBody('openai', err.status, err.message, err.code);
  const reason = STATUS_CODES[err.status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${err.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** The refusal of an absolute-form or CONNECT target that is no upstream and no route host. */
export function unknownHost(authority: string): BreakwaterError {
  const msg = `no route for host ${authority}: breakwater carries only its upstreams and route hosts`;
  return new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, msg, 404);
}

/**
 * Answers a request refused before its body was used, and closes the connection once the answer
 * is written (Node's `connection: close`): nothing after it on the connection is read as a request.
 */
function refuse(req: IncomingMessage, res: ServerResponse, protocol: Protocol, err: BreakwaterError): void {
  res.shouldKeepAlive = false;
  req.resume();
  sendError(res, protocol, err, { connection: 'close' });
}

/** The error a body that could not be used gets, or null when it was read (or the client left). */
function bodyError(r: BodyResult, limits: LimitsPolicy): BreakwaterError | null {
  switch (r.kind) {
    case 'ok':
    case 'aborted':
      return null;
    case 'too_large':
      return new BreakwaterError(
        ErrorCode.BODY_TOO_LARGE,
        `request body larger than ${limits.maxRequestBodyBytes} bytes (limits.maxRequestBody)`,
        413,
      );
    case 'too_complex':
      return new BreakwaterError(
        ErrorCode.BODY_TOO_COMPLEX,
        r.limit === 'depth'
          ? `request body nested deeper than ${limits.maxJsonDepth} levels (limits.maxJsonDepth)`
          : `request body has more than ${limits.maxJsonMembers} JSON members (limits.maxJsonMembers)`,
        413,
      );
    case 'idle':
      return bodyIdle(limits);
  }
}

function bodyIdle(limits: LimitsPolicy): BreakwaterError {
  const msg = `request body idle for ${limits.bodyIdleTimeoutMs} ms (limits.bodyIdleTimeout)`;
  return new BreakwaterError(ErrorCode.REQUEST_TIMEOUT, msg, 408);
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
  if (target instanceof BreakwaterError) {
    refuse(req, res, 'openai', target);
    return;
  }
  const q = target.pathWithQuery.indexOf('?');
  const path = q === -1 ? target.pathWithQuery : target.pathWithQuery.slice(0, q);
  const method = req.method ?? 'GET';
  const ei = endpointOf(method, path);
  const protocol = ei?.protocol ?? protocolOfPath(path);
  if (target.captured && !gen.routes.isKnownAuthority(target.authority!)) {
    req.resume();
    sendError(res, protocol, unknownHost(target.authority!));
    return;
  }
  const match = gen.routes.match(target.authority, path);
  if (match === null) {
    req.resume();
    sendError(
      res,
      protocol,
      new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, `no route for ${method} ${path}`, 404),
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
  const limits = gen.policy.limits;
  const read = await readBody(req, limits);
  const refused = bodyError(read, limits);
  if (refused !== null) {
    refuse(req, res, protocol, refused);
    return;
  }
  if (read.kind !== 'ok') return;
  const body = read.body;
  const json = parseJsonObject(body);
  if (json === null) {
    sendError(
      res,
      protocol,
      new BreakwaterError(ErrorCode.REQUEST_INVALID, 'request body must be a JSON object', 400),
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
      sendError(res, protocol, new BreakwaterError(ErrorCode.CHAIN_EXHAUSTED, msg, 503), {
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
    const limits = gen.policy.limits;
    // A pass-through body streams to the upstream as it comes; a silent one is cut all the same.
    const disarm = watchBodyIdle(req, limits.bodyIdleTimeoutMs, () =>
      refuse(req, res, protocol, bodyIdle(limits)),
    );
    gen.passthrough.forward(req, res, up, pathWithQuery, headers, (err) => {
      disarm();
      const msg = `pass-through to ${tier.upstream} failed: ${err.message}`;
      sendError(res, protocol, new BreakwaterError(ErrorCode.CHAIN_EXHAUSTED, msg, 502), headers);
    });
    return;
  }
  req.resume();
  sendError(
    res,
    protocol,
    new BreakwaterError(ErrorCode.CHAIN_EXHAUSTED, `every upstream of route ${routeName} is open`, 503),
    { 'x-breakwater-route': routeName, 'x-breakwater-tier': 'none', 'retry-after': '1' },
  );
}
