import type { Command } from 'commander';
import { rootProgram } from './program.ts';

export { ExitCode, VERSION, processIo } from './program.ts';
export type { CliIo } from './program.ts';

/** Builds the whole CLI: one file per subcommand, each registering itself. */
export function buildCli(): Command {
  const program = rootProgram();
  return program;
}
