import type { IncomingMessage, ServerResponse } from 'node:http';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { FleetCommandResult, FleetView } from '../fleet/index.ts';
import { sendJson } from '../health/index.ts';
import type { Logger } from '../log/index.ts';

/** What the admin API needs of the fleet agent (fleet mode). */
export interface FleetAdmin {
  view(): Promise<FleetView>;
  command(
    action: 'open' | 'reset',
    upstream: string,
    by: string,
    reason: string | null,
  ): Promise<FleetCommandResult>;
}

/** Longest `by` and `reason` accepted by a fleet command, characters. */
const MAX_TEXT_CHARS = 200;
/** Largest fleet command body read, bytes. */
const MAX_BODY_BYTES = 4096;

function disabled(): BreakwaterError {
  return new BreakwaterError(
    ErrorCode.FLEET_DISABLED,
    'fleet mode is off on this pod: its policy has no fleet section',
  );
}

/** `GET /fleet`: the group, the store's state, each pod's view, the group's judgement, the leases. */
export async function sendFleetView(fleet: FleetAdmin | null, res: ServerResponse): Promise<void> {
  if (fleet === null) throw disabled();
  sendJson(res, 200, await fleet.view());
}

async function readBody(req: IncomingMessage): Promise<{ by: string | null; reason: string | null }> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new BreakwaterError(ErrorCode.BODY_TOO_LARGE, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return { by: null, reason: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BreakwaterError(ErrorCode.REQUEST_INVALID, 'body must be JSON: {"by": "...", "reason": "..."}');
  }
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  return { by: textField(o, 'by'), reason: textField(o, 'reason') };
}

function textField(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > MAX_TEXT_CHARS) {
    const message = `${key}: expected a string of at most ${MAX_TEXT_CHARS} characters`;
    throw new BreakwaterError(ErrorCode.REQUEST_INVALID, message);
  }
  return v;
}

/**
 * `POST /fleet/circuit-breakers/NAME/open|reset` (body `{"by", "reason"}`): the operator's
 * command for every pod of the group. Control calls pass the admin API's checks first.
 */
export async function fleetControl(
  fleet: FleetAdmin | null,
  parts: readonly string[],
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
): Promise<void> {
  const action = parts[3];
  if (parts.length !== 4 || parts[1] !== 'circuit-breakers' || (action !== 'open' && action !== 'reset')) {
    req.resume();
    throw new BreakwaterError(ErrorCode.ROUTE_NOT_FOUND, `no admin endpoint POST /${parts.join('/')}`);
  }
  if (fleet === null) {
    req.resume();
    throw disabled();
  }
  let name: string;
  try {
    name = decodeURIComponent(parts[2]!);
  } catch {
    req.resume();
    throw new BreakwaterError(ErrorCode.REQUEST_INVALID, `bad breaker name in path: ${parts[2]}`);
  }
  const body = await readBody(req);
  const by = body.by ?? 'an admin API caller';
  const done = await fleet.command(action, name, by, body.reason);
  logger.warn({ breaker: name, action, by }, `breaker ${name} ${action} for the fleet via admin API`);
  sendJson(res, 200, { fleet: done });
}
