import type { Command } from 'commander';
import { AdminClient, DEFAULT_ADMIN_URL, type BreakerTable } from '../admin/index.ts';
import { ErrorCode, hasCode } from '../errors/index.ts';
import { columns } from './columns.ts';
import { formatFleetTable } from './fleet-table.ts';
import { ExitCode, type CliIo } from './program.ts';

/** Redraw period of `status --watch`, in ms. */
export const WATCH_INTERVAL_MS = 2_000;

/** Options every command that talks to a running sidecar takes. */
export interface AdminCliOptions {
  admin?: string;
  token?: string;
  json?: boolean;
}

/** Adds `--admin`, `--token` and `--json` to a command. */
export function adminOptions(cmd: Command): Command {
  return cmd
    .option('--admin <url>', 'admin API of the sidecar', DEFAULT_ADMIN_URL)
    .option('--token <token>', 'bearer token for control calls (default $BREAKWATER_ADMIN_TOKEN)')
    .option('--json', 'print JSON');
}

/** The admin client of a command's options; the token falls back to `$BREAKWATER_ADMIN_TOKEN`. */
export function adminClient(opts: AdminCliOptions, env: NodeJS.ProcessEnv): AdminClient {
  const token = opts.token ?? env.BREAKWATER_ADMIN_TOKEN ?? null;
  return new AdminClient({ url: opts.admin ?? DEFAULT_ADMIN_URL, token: token === '' ? null : token });
}

/**
 * Exit code of an admin-call failure: unknown breaker 3, anything else (unreachable,
 * unauthorized, server error) 1.
 */
export function exitCodeOf(err: unknown): ExitCode {
  return hasCode(err, ErrorCode.BREAKER_NOT_FOUND) ? ExitCode.NOT_FOUND : ExitCode.FAILURE;
}

/** `CODE: message` of an admin-call failure. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' && e.code.startsWith('BW_ERR_')
    ? `${e.code}: ${String(e.message)}`
    : String(e.message ?? err);
}

function nextAttempt(iso: string | null, state: string, nowMs: number): string {
  if (state === 'forced_open') return 'held (reset)';
  if (iso === null) return '-';
  const s = Math.max(0, Math.ceil((Date.parse(iso) - nowMs) / 1000));
  return s === 0 ? 'now (trial)' : `in ${s} s`;
}

/**
 * The `breakwater status` table: one row per breaker with state, consecutive/total failures,
 * timeouts, rejections, time to the next attempt and trip reason.
 */
export function formatBreakerTable(table: BreakerTable, nowMs: number): string {
  const head = [
    'NAME',
    'STATE',
    'REQUESTS',
    'FAILURES (ROW/TOTAL)',
    'TIMEOUTS',
    'REJECTED',
    'NEXT ATTEMPT',
    'TRIP REASON',
  ];
  const rows = Object.entries(table).map(([name, b]) => [
    name,
    b.state,
    String(b.total_requests),
    `${b.consecutive_failures}/${b.total_failures}`,
    String(b.total_timeouts),
    String(b.total_rejections),
    nextAttempt(b.next_attempt_at, b.state, nowMs),
    b.trip_reason ?? '-',
  ]);
  if (rows.length === 0) return 'no circuit breakers\n';
  return columns(head, rows).join('\n') + '\n';
}

type StatusOptions = AdminCliOptions & { watch?: boolean; fleet?: boolean };

/** One rendering: this pod's breakers, or with `--fleet` the group (`GET /fleet`). */
async function render(client: AdminClient, opts: StatusOptions, indent: number | undefined): Promise<string> {
  if (opts.fleet === true) {
    const view = await client.fleet();
    return opts.json === true
      ? JSON.stringify(view, null, indent) + '\n'
      : formatFleetTable(view, Date.now());
  }
  const table = await client.breakers();
  return opts.json === true
    ? JSON.stringify({ circuit_breakers: table }, null, indent) + '\n'
    : formatBreakerTable(table, Date.now());
}

function watch(client: AdminClient, opts: StatusOptions, io: CliIo, tty: boolean): void {
  const draw = async (): Promise<void> => {
    let text: string;
    try {
      text = await render(client, opts, undefined);
    } catch (err) {
      text = `breakwater status: ${describeError(err)}\n`;
    }
    const stamp = `${client.url}  ${new Date().toISOString()}  (every ${WATCH_INTERVAL_MS / 1000} s, Ctrl-C to stop)\n\n`;
    io.out(tty ? `\x1b[2J\x1b[H${stamp}${text}` : opts.json === true ? text : `${stamp}${text}\n`);
    timer = setTimeout(() => void draw(), WATCH_INTERVAL_MS);
  };
  let timer: NodeJS.Timeout | null = null;
  process.once('SIGINT', () => {
    if (timer !== null) clearTimeout(timer);
    process.exit(ExitCode.OK);
  });
  void draw();
}

/** Registers `breakwater status [--admin URL] [--json] [--watch] [--fleet] [--token T]`. */
export function registerStatus(program: Command, io: CliIo): void {
  adminOptions(
    program.command('status').description("table of this pod's circuit breakers, from the admin API"),
  )
    .option('-w, --watch', `redraw every ${WATCH_INTERVAL_MS / 1000} s until Ctrl-C`)
    .option('--fleet', "the whole fleet group (fleet mode): every pod's view, the group's state, the leases")
    .action(async (opts: StatusOptions) => {
      const client = adminClient(opts, process.env);
      if (opts.watch === true) {
        watch(client, opts, io, process.stdout.isTTY === true);
        return;
      }
      try {
        io.out(await render(client, opts, 2));
      } catch (err) {
        io.err(`breakwater status: ${describeError(err)}\n`);
        process.exit(exitCodeOf(err));
      }
    });
}
