import type { Command } from 'commander';
import { hostname, userInfo } from 'node:os';
import type { AdminClient, BreakerTable } from '../admin/index.ts';
import type { FleetCommandResult } from '../fleet/index.ts';
import { ExitCode, type CliIo } from './program.ts';
import { adminClient, adminOptions, describeError, exitCodeOf, type AdminCliOptions } from './status.ts';

function report(table: BreakerTable, opts: AdminCliOptions, io: CliIo): void {
  if (opts.json === true) {
    io.out(JSON.stringify({ circuit_breakers: table }, null, 2) + '\n');
    return;
  }
  for (const [name, b] of Object.entries(table)) {
    io.out(`${name}: ${b.state}${b.trip_reason !== null ? ` (${b.trip_reason})` : ''}\n`);
  }
}

async function run(io: CliIo, call: () => Promise<BreakerTable>, opts: AdminCliOptions): Promise<void> {
  try {
    report(await call(), opts, io);
  } catch (err) {
    io.err(`breakwater breaker: ${describeError(err)}\n`);
    process.exit(exitCodeOf(err));
  }
}

type FleetOptions = AdminCliOptions & { fleet?: boolean; by?: string };

/** Who asks, for fleet-wide commands: `--by`, else `user@host`. */
function whoAsks(opts: FleetOptions, env: NodeJS.ProcessEnv): string {
  if (opts.by !== undefined && opts.by !== '') return opts.by;
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = env.USER ?? 'unknown';
  }
  return `${user}@${hostname()}`;
}

function reportFleet(done: FleetCommandResult, opts: AdminCliOptions, io: CliIo): void {
  if (opts.json === true) {
    io.out(JSON.stringify({ fleet: done }, null, 2) + '\n');
    return;
  }
  const what = done.action === 'open' ? 'forced open' : 'reset';
  io.out(
    `${done.upstream}: ${what} on every pod of group ${done.group} (asked by ${done.by}, via ${done.via})\n`,
  );
}

async function runFleet(
  io: CliIo,
  call: () => Promise<FleetCommandResult>,
  opts: AdminCliOptions,
): Promise<void> {
  try {
    reportFleet(await call(), opts, io);
  } catch (err) {
    io.err(`breakwater breaker: ${describeError(err)}\n`);
    process.exit(exitCodeOf(err));
  }
}

function fleetCall(
  client: AdminClient,
  action: 'open' | 'reset',
  name: string,
  opts: FleetOptions & { reason?: string },
) {
  return () => client.fleetCommand(action, name, whoAsks(opts, process.env), opts.reason);
}

/**
 * Registers `breakwater breaker reset NAME|--all` and `breakwater breaker open NAME [--reason T]`,
 * each with `--fleet` (every pod of the group; docs/fleet.md). Exit codes: 0 done, 1 admin API
 * unreachable or refused (or fleet mode off, or its store down), 2 usage, 3 no such breaker.
 */
export function registerBreaker(program: Command, io: CliIo): void {
  const breaker = program
    .command('breaker')
    .description("steer this pod's circuit breakers through the admin API");
  adminOptions(
    breaker
      .command('reset')
      .description('reset a breaker (or every one) to closed')
      .argument('[name]', 'breaker name'),
  )
    .option('--all', 'reset every breaker')
    .option('--fleet', 'reset it on every pod of the fleet group (fleet mode)')
    .option('--by <name>', 'who asks, shown on every pod (--fleet; default user@host)')
    .action(async (name: string | undefined, opts: FleetOptions & { all?: boolean }) => {
      if ((name === undefined) === (opts.all !== true)) {
        io.err('breakwater breaker reset: give a breaker NAME or --all (not both)\n');
        process.exit(ExitCode.INVALID);
      }
      if (opts.fleet === true && name === undefined) {
        io.err('breakwater breaker reset --fleet: give a breaker NAME (--all is for one pod)\n');
        process.exit(ExitCode.INVALID);
      }
      const client = adminClient(opts, process.env);
      if (opts.fleet === true) return runFleet(io, fleetCall(client, 'reset', name!, opts), opts);
      await run(io, () => (name === undefined ? client.resetAll() : client.reset(name)), opts);
    });
  adminOptions(
    breaker
      .command('open')
      .description('force a breaker open, held until reset (planned maintenance)')
      .argument('<name>', 'breaker name'),
  )
    .option('--reason <text>', 'why (shown as the trip reason)')
    .option('--fleet', 'force it open on every pod of the fleet group, held until reset --fleet (fleet mode)')
    .option('--by <name>', 'who asks, shown on every pod (--fleet; default user@host)')
    .action(async (name: string, opts: FleetOptions & { reason?: string }) => {
      const client = adminClient(opts, process.env);
      if (opts.fleet === true) return runFleet(io, fleetCall(client, 'open', name, opts), opts);
      await run(io, () => client.open(name, opts.reason), opts);
    });
}
