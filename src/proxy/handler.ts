import type { IncomingMessage, ServerResponse } from 'node:http';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { passthroughUpstream, runChain, type ChainRequest, type Exhausted } from '../fallback/index.ts';
import { writeJsonError, type EndpointInfo, type Protocol } from '../protocol/index.ts';
import type { ClientWriter } from '../upstream/index.ts';
import { ABORTED, bodyIdle, readLlmBody, watchBodyIdle, type BadBody, type LlmBody } from './body.ts';
import type { BodyBudget } from './body-budget.ts';
import type { Generation } from './generation.ts';
import { routeOf, type Routed } from './route-step.ts';
import { requestTarget, type Target } from './target.ts';

/**
 * Handles one request on the proxy listener against generation `gen`, as a pipeline of steps
 * (docs/design.md#the-pipeline-in-code): target → route → body → chain → finish. Each step returns
 * data; this function is the one place their errors become HTTP answers.
 *
 * `tunnel` is the authority of the CONNECT tunnel the request came through, or null; `bodies` is
 * the process's budget for the LLM bodies held at once (`limits.maxBufferedBytes`).
 */
export async function handleRequest(
  gen: Generation,
  req: IncomingMessage,
  writer: ClientWriter,
  tunnel: string | null,
  bodies: BodyBudget,
): Promise<void> {
  const startedAtMs = gen.chain.clock.now();
  const res = writer.res;
  const target = requestTarget(req, tunnel);
  if (target instanceof BreakwaterError) {
    refuse(req, res, 'openai', target);
    return;
  }
  const routed = routeOf(gen.routes, target, req.method ?? 'GET');
  if (!routed.ok) {
    req.resume();
    writeJsonError(res, routed.protocol, routed.error);
    return;
  }
  writer.protocol = routed.protocol;
  if (routed.endpoint === null) {
    passthrough(gen, req, res, routed, target);
    return;
  }
  const body = await readLlmBody(req, gen.policy.limits, bodies);
  if (body === ABORTED) return;
  if (!body.ok) {
    badBody(gen, req, res, routed.protocol, body);
    return;
  }
  const creq = chainRequest(req, target, routed, routed.endpoint, body, startedAtMs);
  const inflight = gen.chain.metrics.inflightOf(creq.route.name);
  inflight.inc();
  try {
    const exhausted = await runChain(gen.chain, creq, writer);
    if (exhausted !== null) writeExhausted(writer, creq.route.name, exhausted);
  } finally {
    inflight.dec();
    bodies.give(body.held);
  }
}

/** Answers a body that cannot be used: closing the connection when the rest of it was not read. */
function badBody(
  gen: Generation,
  req: IncomingMessage,
  res: ServerResponse,
  protocol: Protocol,
  body: BadBody,
): void {
  if (body.error.code === ErrorCode.BUFFER_FULL) gen.chain.metrics.bufferFull.inc();
  if (!body.close) {
    writeJsonError(res, protocol, body.error);
    return;
  }
  const retry = body.retryAfterSeconds === null ? null : { 'retry-after': String(body.retryAfterSeconds) };
  refuse(req, res, protocol, body.error, retry);
}

/** The final 503 when no tier could answer, with `Retry-After` and the skips. */
function writeExhausted(writer: ClientWriter, route: string, exhausted: Exhausted): void {
  const msg = `no tier could answer (${exhausted.skipped})`;
  writeJsonError(writer.res, writer.protocol, new BreakwaterError(ErrorCode.CHAIN_EXHAUSTED, msg), {
    'retry-after': String(exhausted.retryAfterSeconds),
    // Every fallback was already tried: an SDK retry would only multiply the load.
    'x-should-retry': 'false',
    'x-breakwater-tier': 'none',
    'x-breakwater-route': route,
    'x-breakwater-skipped': exhausted.skipped,
  });
}

const CLOSE: Readonly<Record<string, string>> = Object.freeze({ connection: 'close' });

/**
 * Answers a request refused before its body was used, and closes the connection once the answer
 * is written (Node's `connection: close`): nothing after it on the connection is read as a request.
 */
export function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  protocol: Protocol,
  err: BreakwaterError,
  extra: Readonly<Record<string, string>> | null = null,
): void {
  res.shouldKeepAlive = false;
  req.resume();
  writeJsonError(res, protocol, err, extra === null ? CLOSE : { ...extra, ...CLOSE });
}

/** The chain's view of the request, built once and never changed by any tier. */
function chainRequest(
  req: IncomingMessage,
  target: Target,
  routed: Routed,
  endpoint: EndpointInfo,
  body: LlmBody,
  startedAtMs: number,
): ChainRequest {
  const json = body.json;
  const cc = req.headers['cache-control'];
  const stream = json.stream;
  return {
    routeName: routed.match.route.name,
    path: target.path,
    endpoint,
    json,
    model: typeof json.model === 'string' ? json.model : null,
    stream: stream === undefined ? endpoint.streamsByDefault : stream === true,
    noStore: cc !== undefined && cc.toLowerCase().includes('no-store'),
    method: req.method!,
    pathWithQuery: target.pathWithQuery,
    rawHeaders: req.rawHeaders,
    connection: req.headers.connection,
    body: body.body,
    route: routed.match.route,
    startIndex: routed.match.startIndex,
    cacheIndex: routed.match.cacheIndex,
    startedAtMs,
  };
}

/** A non-LLM call: passed through to the first upstream whose breaker is not open. */
function passthrough(
  gen: Generation,
  req: IncomingMessage,
  res: ServerResponse,
  routed: Routed,
  target: Target,
): void {
  const route = routed.match.route.name;
  const up = passthroughUpstream(gen.chain, routed.match.route, routed.match.startIndex);
  if (up === null) {
    req.resume();
    const msg = `every upstream of route ${route} is open`;
    writeJsonError(res, routed.protocol, new BreakwaterError(ErrorCode.CHAIN_EXHAUSTED, msg), {
      'x-breakwater-route': route,
      'x-breakwater-tier': 'none',
      'retry-after': '1',
    });
    return;
  }
  const name = up.policy.name;
  const headers = { 'x-breakwater-tier': name, 'x-breakwater-route': route };
  const limits = gen.policy.limits;
  // A pass-through body streams to the upstream as it comes; a silent one is cut all the same.
  const disarm = watchBodyIdle(req, limits.bodyIdleTimeoutMs, () =>
    refuse(req, res, routed.protocol, bodyIdle(limits)),
  );
  gen.passthrough.forward(req, res, up, target.pathWithQuery, headers, (err) => {
    disarm();
    const msg = `pass-through to ${name} failed: ${err.message}`;
    writeJsonError(res, routed.protocol, new BreakwaterError(ErrorCode.PASSTHROUGH_FAILED, msg), headers);
  });
}
