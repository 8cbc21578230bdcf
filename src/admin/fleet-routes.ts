import type { IncomingMessage, ServerResponse } from 'node:http';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { FleetCommandResult, FleetView } from '../fleet/index.ts';
import { sendJson } from '../health/index.ts';
import type { Logger } from '../log/index.ts';
import { readCommandBody } from './command-body.ts';

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
  const body = await readCommandBody(req, ['by', 'reason']);
  const by = body.by ?? 'an admin API caller';
  const done = await fleet.command(action, name, by, body.reason);
  logger.warn({ breaker: name, action, by }, `breaker ${name} ${action} for the fleet via admin API`);
  sendJson(res, 200, { fleet: done });
}
