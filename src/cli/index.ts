import type { Command } from 'commander';
import { registerBreaker } from './breaker.ts';
import { registerDemo } from './demo.ts';
import { registerInject } from './inject.ts';
import { registerLoadtest } from './loadtest.ts';
import { registerMock } from './mock.ts';
import { processIo, rootProgram } from './program.ts';
import { registerRun } from './run.ts';
import { registerStatus } from './status.ts';
import { registerValidate } from './validate.ts';

export { ExitCode, VERSION, processIo } from './program.ts';
export type { CliIo } from './program.ts';

/** Builds the whole CLI: one file per subcommand, each registering itself. */
export function buildCli(): Command {
  const program = rootProgram();
  registerRun(program, processIo);
  registerDemo(program, processIo);
  registerStatus(program, processIo);
  registerBreaker(program, processIo);
  registerInject(program, processIo);
  registerMock(program, processIo);
  registerLoadtest(program, processIo);
  registerValidate(program, processIo, process.env);
  return program;
}
