/**
 * Events on the group's channel, as JSON. Everything read from Redis is input: `parseEvent`
 * checks every field and bounds every string, and drops what does not fit.
 */

/** One pod's failure report for an upstream: its streak of failures since the group's last success. */
export interface FailureReport {
  readonly pod: string;
  /** Failures in a row on that pod (capped at its `failureThreshold` when judged). */
  readonly n: number;
  /** Its own breaker tripped (opened on its own failures). */
  readonly trip: boolean;
  /** The last failure, e.g. `timeout: no first token within 5000ms`. */
  readonly last: string | null;
  /** Redis time of the report, ms. */
  readonly at: number;
}

/** An operator's fleet-wide command (`breakwater breaker open|reset NAME --fleet`). */
export interface FleetCommand {
  /** Who asked (the CLI sends `user@host`). */
  readonly by: string;
  /** The pod whose admin API took the command. */
  readonly via: string;
  readonly reason: string | null;
  /** ms since the epoch on that pod. */
  readonly at: number;
}

export type FleetEvent =
  | { readonly t: 'failing'; readonly u: string; readonly report: FailureReport }
  | { readonly t: 'ok'; readonly u: string; readonly pod: string }
  | { readonly t: 'recovered'; readonly u: string; readonly pod: string; readonly reason: string }
  | { readonly t: 'forced' | 'reset'; readonly u: string; readonly command: FleetCommand };

/** Largest event read from the channel, bytes; longer ones are dropped. */
export const MAX_EVENT_BYTES = 16 * 1024;
/** Longest text kept from an event (reasons, failure descriptions), characters. */
export const MAX_TEXT_CHARS = 500;
const MAX_ID_CHARS = 253;

type Obj = Record<string, unknown>;

function str(o: Obj, key: string, max = MAX_ID_CHARS): string | null {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v.slice(0, max) : null;
}

function num(o: Obj, key: string): number | null {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

/** A failure report from its JSON form (`{n, trip, last, at}`) and the pod it belongs to; null when malformed. */
export function parseReport(pod: string, raw: unknown): FailureReport | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const o = raw as Obj;
  const n = num(o, 'n');
  const at = num(o, 'at');
  if (n === null || at === null || n < 1) return null;
  return { pod, n: Math.floor(n), trip: o.trip === true, last: str(o, 'last', MAX_TEXT_CHARS), at };
}

/** The group's last recovery as stored (`{at, pod, reason}`, Redis time); null when malformed. */
export interface Recovery {
  readonly at: number;
  readonly pod: string;
  readonly reason: string;
}

/** A stored recovery from its JSON form; null when malformed. */
export function parseRecovery(raw: unknown): Recovery | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const o = raw as Obj;
  const at = num(o, 'at');
  const pod = str(o, 'pod');
  const reason = str(o, 'reason', MAX_TEXT_CHARS);
  return at === null || pod === null || reason === null ? null : { at, pod, reason };
}

/** A command from its JSON form; null when malformed. */
export function parseCommand(raw: unknown): FleetCommand | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const o = raw as Obj;
  const by = str(o, 'by', MAX_TEXT_CHARS);
  const via = str(o, 'via');
  const at = num(o, 'at');
  if (by === null || via === null || at === null) return null;
  return { by, via, reason: str(o, 'reason', MAX_TEXT_CHARS), at };
}

/** Parses one channel message; null when it is not a well-formed fleet event. */
export function parseEvent(text: string): FleetEvent | null {
  if (text.length > MAX_EVENT_BYTES) return null;
  let o: Obj;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return null;
    o = v as Obj;
  } catch {
    return null;
  }
  const u = str(o, 'u');
  const pod = str(o, 'pod');
  if (u === null) return null;
  switch (o.t) {
    case 'failing': {
      const report = pod === null ? null : parseReport(pod, o.e);
      return report === null ? null : { t: 'failing', u, report };
    }
    case 'ok':
      return pod === null ? null : { t: 'ok', u, pod };
    case 'recovered': {
      const reason = str(o, 'reason', MAX_TEXT_CHARS);
      return pod === null || reason === null ? null : { t: 'recovered', u, pod, reason };
    }
    case 'forced':
    case 'reset': {
      const command = parseCommand(o.command);
      return command === null ? null : { t: o.t, u, command };
    }
    default:
      return null;
  }
}
