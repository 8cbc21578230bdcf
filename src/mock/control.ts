import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { parseFault } from './fault.ts';
import type { FaultSpec, MockConfig, MockStats } from './types.ts';

/** What the control API steers. */
export interface ControlTarget {
  /** Sets a validated fault; `exempt` is the socket of this control call, kept open by `refuse`. */
  applyFault(spec: FaultSpec, exempt: Socket | null): Promise<void>;
  fault(): FaultSpec;
  stats(): MockStats;
  resetStats(): void;
  configure(patch: unknown): void;
  config(): MockConfig;
}

/** Body limit of control calls, in bytes. */
const MAX_CONTROL_BODY = 1024 * 1024;

/** The control prefix on the API listener (also accepted on the control listener). */
export const CONTROL_PREFIX = '/_mock';

/**
 * Serves the control API: `GET|PUT|POST|DELETE /fault`, `GET /stats`, `POST /stats/reset`,
 * `GET|PUT|POST /config`. `path` is relative to `/_mock`. `onMainPort`: the call came on the API
 * listener, whose socket `refuse` must spare until this answer is sent.
 */
export function handleControl(
  target: ControlTarget,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  onMainPort: boolean,
): void {
  const method = req.method ?? 'GET';
  readBody(req)
    .then(async (raw) => {
      switch (`${method} ${path}`) {
        case 'GET /fault':
          return send(res, 200, target.fault());
        case 'PUT /fault':
        case 'POST /fault': {
          const spec = parseFault(parseJson(raw));
          if (onMainPort) res.setHeader('connection', 'close');
          await target.applyFault(spec, onMainPort ? req.socket : null);
          return send(res, 200, target.fault());
        }
        case 'DELETE /fault':
          await target.applyFault({ mode: 'none' }, null);
          return send(res, 200, target.fault());
        case 'GET /stats':
          return send(res, 200, target.stats());
        case 'POST /stats/reset':
          target.resetStats();
          return send(res, 200, target.stats());
        case 'GET /config':
          return send(res, 200, target.config());
        case 'PUT /config':
        case 'POST /config':
          target.configure(parseJson(raw));
          return send(res, 200, target.config());
        default:
          return send(res, 404, { error: `no control route ${method} ${CONTROL_PREFIX}${path}` });
      }
    })
    .catch((err: unknown) => {
      const status = errorStatus(err);
      send(res, status, { error: err instanceof Error ? err.message : String(err) });
    });
}

/** The HTTP status a BreakwaterError carries (matched on its code), else 500. */
function errorStatus(err: unknown): number {
  const e = err as { code?: unknown; status?: unknown } | null;
  const ours = typeof e?.code === 'string' && e.code.startsWith('BW_ERR_') && typeof e.status === 'number';
  return ours ? (e.status as number) : 500;
}

function send(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new BreakwaterError(ErrorCode.REQUEST_INVALID, `body: invalid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_CONTROL_BODY) {
        reject(new BreakwaterError(ErrorCode.BODY_TOO_LARGE, `body larger than ${MAX_CONTROL_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
