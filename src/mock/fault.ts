import { z } from 'zod';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { FaultMode, type FaultSpec } from './types.ts';

const MODES = Object.values(FaultMode) as [FaultMode, ...FaultMode[]];

/** Default first-token delay of `slow`, in ms: above breakwater's default 5 s `firstByte` timeout. */
export const DEFAULT_SLOW_DELAY_MS = 10_000;
/** Default events sent before a mid-stream fault. */
export const DEFAULT_AFTER_CHUNKS = 2;
/** Default status of `status` mode. */
export const DEFAULT_FAULT_STATUS = 503;

const FaultSchema = z
  .strictObject({
    mode: z.enum(MODES),
    status: z.int().min(100).max(599).optional(),
    delayMs: z.int().min(0).max(3_600_000).optional(),
    afterChunks: z.int().min(0).max(100_000).optional(),
    count: z.int().min(1).optional(),
    pathPrefix: z.string().startsWith('/').optional(),
    body: z.unknown().optional(),
  })
  .refine((f) => f.mode !== FaultMode.REFUSE || (f.count === undefined && f.pathPrefix === undefined), {
    message: 'refuse closes the whole listener: it takes no count or pathPrefix',
  });

/** Modes that hit every path on the main port unless `pathPrefix` narrows them. */
const CONNECTION_MODES: ReadonlySet<FaultMode> = new Set([FaultMode.REFUSE, FaultMode.RESET, FaultMode.HANG]);

/** Validates a fault spec (from JSON or code); throws `BW_ERR_REQUEST_INVALID` naming the bad field. */
export function parseFault(input: unknown): FaultSpec {
  const r = FaultSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? `fault.${issue.path.join('.')}` : 'fault';
    throw new BreakwaterError(ErrorCode.REQUEST_INVALID, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  // Rebuild without undefined keys (exactOptionalPropertyTypes, and a clean GET /_mock/fault).
  const f = r.data;
  const spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = { mode: f.mode };
  if (f.status !== undefined) spec.status = f.status;
  if (f.delayMs !== undefined) spec.delayMs = f.delayMs;
  if (f.afterChunks !== undefined) spec.afterChunks = f.afterChunks;
  if (f.count !== undefined) spec.count = f.count;
  if (f.pathPrefix !== undefined) spec.pathPrefix = f.pathPrefix;
  if (f.body !== undefined) spec.body = f.body;
  return spec;
}

/** A fault as it acts on requests: defaults resolved once, so the request path only reads fields. */
export class ActiveFault {
  readonly mode: FaultMode;
  readonly status: number;
  readonly delayMs: number;
  readonly afterChunks: number;
  readonly pathPrefix: string | null;
  /** Hits every path (not only LLM calls) when no prefix is given. */
  readonly allPaths: boolean;
  /** Body override of `status` mode, already serialised, with its content type. */
  readonly body: string | null;
  readonly bodyType: string;
  readonly #spec: FaultSpec;
  #remaining: number | null;

  constructor(spec: FaultSpec) {
    this.#spec = spec;
    this.mode = spec.mode;
    this.status = spec.status ?? DEFAULT_FAULT_STATUS;
    this.delayMs = spec.delayMs ?? (spec.mode === FaultMode.SLOW ? DEFAULT_SLOW_DELAY_MS : 0);
    this.afterChunks = spec.afterChunks ?? DEFAULT_AFTER_CHUNKS;
    this.pathPrefix = spec.pathPrefix ?? null;
    this.allPaths = CONNECTION_MODES.has(spec.mode);
    this.#remaining = spec.count ?? null;
    if (spec.body === undefined) {
      this.body = null;
      this.bodyType = 'application/json';
    } else if (typeof spec.body === 'string') {
      this.body = spec.body;
      this.bodyType = 'text/plain; charset=utf-8';
    } else {
      this.body = JSON.stringify(spec.body);
      this.bodyType = 'application/json';
    }
  }

  /** True when this fault applies to a request on `path` (`isLlmCall`: a generation or embedding endpoint). */
  matches(path: string, isLlmCall: boolean): boolean {
    if (this.mode === FaultMode.NONE) return false;
    if (this.pathPrefix !== null) return path.startsWith(this.pathPrefix);
    return this.allPaths || isLlmCall;
  }

  /** Counts one hit; returns true when the fault is used up and must revert to `none`. */
  consume(): boolean {
    if (this.#remaining === null) return false;
    this.#remaining -= 1;
    return this.#remaining <= 0;
  }

  /** The spec as given, with `count` set to what remains. */
  toSpec(): FaultSpec {
    return this.#remaining === null ? this.#spec : { ...this.#spec, count: this.#remaining };
  }
}

/** The `none` fault. */
export const NO_FAULT: ActiveFault = new ActiveFault({ mode: FaultMode.NONE });
