import type { BreakerSnapshot } from '../breaker/index.ts';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { FleetCommandResult, FleetView } from '../fleet/index.ts';

/** Default admin API of the local sidecar (README.md#commands). */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:15000';

/** How long the CLI waits for the admin API, in ms. */
export const ADMIN_TIMEOUT_MS = 5_000;

/** `GET /circuit-breakers` as the CLI reads it. */
export type BreakerTable = Record<string, BreakerSnapshot>;

/** Options of `new AdminClient(...)`. */
export interface AdminClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:15000`. Default {@link DEFAULT_ADMIN_URL}. */
  readonly url?: string;
  /** Bearer token for control calls (`admin.token`); null: none. */
  readonly token?: string | null;
  /** Per-call limit in ms; default {@link ADMIN_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/**
 * A client of one sidecar's admin API (used by `breakwater status` and `breakwater breaker`).
 * Failures are BreakwaterErrors with the server's code: `BW_ERR_ADMIN_UNREACHABLE` (naming the
 * URL), `BW_ERR_BREAKER_NOT_FOUND`, `BW_ERR_ADMIN_UNAUTHORIZED`.
 */
export class AdminClient {
  readonly url: string;
  readonly #token: string | null;
  readonly #timeoutMs: number;

  constructor(options: AdminClientOptions = {}) {
    this.url = (options.url ?? DEFAULT_ADMIN_URL).replace(/\/+$/, '');
    this.#token = options.token ?? null;
    this.#timeoutMs = options.timeoutMs ?? ADMIN_TIMEOUT_MS;
  }

  /** Every breaker of the pod. */
  async breakers(): Promise<BreakerTable> {
    return ((await this.#call('GET', '/circuit-breakers')) as { circuit_breakers: BreakerTable })
      .circuit_breakers;
  }

  /** Resets one breaker to closed; resolves with its new snapshot. */
  async reset(name: string): Promise<BreakerTable> {
    return this.#control(`/circuit-breakers/${encodeURIComponent(name)}/reset`, null);
  }

  /** Resets every breaker; resolves with all snapshots. */
  async resetAll(): Promise<BreakerTable> {
    return this.#control('/circuit-breakers/reset', null);
  }

  /** Forces one breaker open (held until reset) with an optional reason. */
  async open(name: string, reason?: string): Promise<BreakerTable> {
    return this.#control(
      `/circuit-breakers/${encodeURIComponent(name)}/open`,
      reason === undefined ? null : { reason },
    );
  }

  /** `GET /fleet`: the group as this pod sees it (fleet mode; `BW_ERR_FLEET_DISABLED` otherwise). */
  async fleet(): Promise<FleetView> {
    return (await this.#call('GET', '/fleet')) as FleetView;
  }

  /** A fleet-wide `open` or `reset` of one breaker, on every pod of the group; `by` names who asks. */
  async fleetCommand(
    action: 'open' | 'reset',
    name: string,
    by: string,
    reason?: string,
  ): Promise<FleetCommandResult> {
    const path = `/fleet/circuit-breakers/${encodeURIComponent(name)}/${action}`;
    const body = await this.#call('POST', path, { by, ...(reason === undefined ? {} : { reason }) });
    return (body as { fleet: FleetCommandResult }).fleet;
  }

  async #control(path: string, body: unknown): Promise<BreakerTable> {
    return ((await this.#call('POST', path, body)) as { circuit_breakers: BreakerTable }).circuit_breakers;
  }

  async #call(method: string, path: string, body: unknown = null): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== null) headers.authorization = `Bearer ${this.#token}`;
    if (body !== null) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url + path, {
        method,
        headers,
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(body !== null ? { body: JSON.stringify(body) } : {}),
      });
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why =
        e.name === 'TimeoutError' ? `no answer in ${this.#timeoutMs} ms` : (e.cause?.code ?? e.message);
      throw new BreakwaterError(
        ErrorCode.ADMIN_UNREACHABLE,
        `cannot reach the admin API at ${this.url} (${why})`,
        {
          cause: err,
        },
      );
    }
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Judged below by status.
    }
    if (res.ok && parsed !== null) return parsed;
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = Object.values(ErrorCode).find((c) => c === error?.code) ?? ErrorCode.ADMIN_UNREACHABLE;
    const message =
      typeof error?.message === 'string'
        ? error.message
        : `unexpected answer from the admin API at ${this.url}${path}: HTTP ${res.status}`;
    throw new BreakwaterError(code, message);
  }
}
