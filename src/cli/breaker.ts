import type { Command } from 'commander';
import type { BreakerTable } from '../admin/index.ts';
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

/**
 * Registers `breakwater breaker reset NAME|--all` and `breakwater breaker open NAME [--reason T]`.
 * Exit codes: 0 done, 1 admin API unreachable or refused, 2 usage, 3 no such breaker.
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
    .action(async (name: string | undefined, opts: AdminCliOptions & { all?: boolean }) => {
      if ((name === undefined) === (opts.all !== true)) {
        io.err('breakwater breaker reset: give a breaker NAME or --all (not both)\n');
        process.exit(ExitCode.INVALID);
      }
      const client = adminClient(opts, process.env);
      await run(io, () => (name === undefined ? client.resetAll() : client.reset(name)), opts);
    });
  adminOptions(
    breaker
      .command('open')
      .description('force a breaker open, held until reset (planned maintenance)')
      .argument('<name>', 'breaker name'),
  )
    .option('--reason <text>', 'why (shown as the trip reason)')
    .action(async (name: string, opts: AdminCliOptions & { reason?: string }) => {
      const client = adminClient(opts, process.env);
      await run(io, () => client.open(name, opts.reason), opts);
    });
}
