import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import { errorBody } from '../protocol/index.ts';
import { Scope, type PodMutator, type ReviewOutcome } from './mutator.ts';
import { ReviewResult, type WebhookMetrics } from './webhook-metrics.ts';

/**
 * Default limit of a review body: the API server refuses request bodies over 3 MiB
 * (`MaxRequestBodyBytes`) and etcd objects over 1.5 MiB, so no review of a real pod is larger.
 */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Bytes kept of an oversized body, to read its `request.uid` (written before the object). */
const HEAD_BYTES = 64 * 1024;

/** Paths of the two webhooks the chart registers. */
export const MUTATE_PATHS: Readonly<Record<string, Scope>> = {
  '/mutate': Scope.NAMESPACE,
  '/mutate/annotated': Scope.ANNOTATED,
};

/** What the request handler reads from the running webhook; every read is of the live state. */
export interface WebhookState {
  readonly mutator: PodMutator;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** True from the first moment of shutdown: `/healthz` answers 503. */
  readonly shuttingDown: boolean;
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  text: string,
  extra?: Record<string, string>,
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  extra?: Record<string, string>,
): void {
  send(res, status, 'application/json', errorBody('openai', status, message, code), extra);
}

function record(state: WebhookState, outcome: ReviewOutcome, seconds: number): void {
  state.metrics.reviewed(outcome.result, seconds);
  const log = state.logger;
  const fields = {
    uid: outcome.uid,
    namespace: outcome.namespace,
    pod: outcome.pod,
    result: outcome.result,
    ms: Math.round(seconds * 1e6) / 1e3,
  };
  switch (outcome.result) {
    case ReviewResult.INJECTED:
      log.info({ ...fields, operations: outcome.operations, warnings: outcome.warnings }, 'sidecar injected');
      return;
    case ReviewResult.INVALID:
      log.warn({ ...fields, reason: outcome.reason }, 'sidecar not injected: bad review');
      return;
    case ReviewResult.ERROR:
      log.error({ ...fields, err: outcome.error }, 'sidecar not injected: internal error');
      return;
    default:
      if (log.isLevelEnabled('debug')) log.debug({ ...fields, reason: outcome.reason }, 'no sidecar needed');
  }
}

/**
 * Reads one review body, at most `state.maxBodyBytes`, and answers it. A larger body is answered at
 * once (allowed, no patch, a warning, `connection: close`) and the rest of it discarded.
 */
function review(state: WebhookState, req: IncomingMessage, res: ServerResponse, scope: Scope): void {
  const limit = state.maxBodyBytes;
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  // A client that goes away mid-body gets nothing: there is nobody to answer.
  req.on('error', () => undefined);
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size <= limit) {
      chunks.push(chunk);
      return;
    }
    over = true;
    const head = Buffer.concat([...chunks, chunk])
      .subarray(0, HEAD_BYTES)
      .toString('utf8');
    chunks.length = 0;
    const outcome = state.mutator.tooLarge(head, limit);
    record(state, outcome, 0);
    res.shouldKeepAlive = false;
    send(res, 200, 'application/json', outcome.body, { connection: 'close' });
  });
  req.on('end', () => {
    if (over) return;
    const started = performance.now();
    const outcome = state.mutator.review(Buffer.concat(chunks, size), scope);
    record(state, outcome, (performance.now() - started) / 1000);
    send(res, 200, 'application/json', outcome.body);
  });
}

/**
 * The webhook listener's routes: `POST /mutate` and `POST /mutate/annotated` (AdmissionReview in,
 * AdmissionReview out), `GET /healthz` (200, or 503 once shutting down) and `GET /metrics`.
 * Anything else gets a JSON error with a stable code.
 */
export function handleWebhookRequest(state: WebhookState, req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  const scope = Object.hasOwn(MUTATE_PATHS, path) ? MUTATE_PATHS[path] : undefined;
  if (scope !== undefined) {
    if (method === 'POST') return review(state, req, res, scope);
    req.resume();
    return sendError(res, 405, ErrorCode.REQUEST_INVALID, `method ${method} not allowed`, { allow: 'POST' });
  }
  req.resume();
  if (path !== '/healthz' && path !== '/metrics') {
    return sendError(res, 404, ErrorCode.ROUTE_NOT_FOUND, `no webhook endpoint ${path}`);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    return sendError(res, 405, ErrorCode.REQUEST_INVALID, `method ${method} not allowed`, {
      allow: 'GET, HEAD',
    });
  }
  if (path === '/healthz') {
    const down = state.shuttingDown;
    return send(
      res,
      down ? 503 : 200,
      'application/json',
      JSON.stringify({ status: down ? 'shutting down' : 'ok' }),
    );
  }
  state.metrics.text().then(
    (text) => send(res, 200, state.metrics.contentType, text),
    (err: unknown) => {
      state.logger.error({ err }, 'metrics failed');
      sendError(res, 500, ErrorCode.INTERNAL, 'internal error');
    },
  );
}
