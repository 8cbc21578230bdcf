import type { Command } from 'commander';
import { processIo, rootProgram } from './program.ts';

export { ExitCode, VERSION, processIo } from './program.ts';
export type { CliIo } from './program.ts';

/**
 * Each subcommand's module, loaded on demand: the sidecar (`run`) in every pod should not carry
 * the manifest rewriter, the mocks or the load generator (7 MiB of resident memory).
 */
const COMMANDS: Readonly<Record<string, (program: Command) => Promise<void>>> = {
  run: async (p) => {
    (await import('./run.ts')).registerRun(p, processIo);
  },
  demo: async (p) => {
    (await import('./demo.ts')).registerDemo(p, processIo);
  },
  status: async (p) => {
    (await import('./status.ts')).registerStatus(p, processIo);
  },
  breaker: async (p) => {
    (await import('./breaker.ts')).registerBreaker(p, processIo);
  },
  inject: async (p) => {
    (await import('./inject.ts')).registerInject(p, processIo);
  },
  mock: async (p) => {
    (await import('./mock.ts')).registerMock(p, processIo);
  },
  loadtest: async (p) => {
    (await import('./loadtest.ts')).registerLoadtest(p, processIo);
  },
  webhook: async (p) => {
    (await import('./webhook.ts')).registerWebhook(p, processIo);
  },
  validate: async (p) => {
    (await import('./validate.ts')).registerValidate(p, processIo, process.env);
  },
};

/**
 * Builds the CLI for `argv`: only the named subcommand when there is one (`breakwater run …`),
 * every subcommand otherwise (`--help`, `help`, no command, a typo), so help lists them all.
 */
export async function buildCli(argv: readonly string[]): Promise<Command> {
  const program = rootProgram();
  const named = argv.slice(2).find((a) => !a.startsWith('-'));
  const only = named === undefined ? undefined : COMMANDS[named];
  if (only !== undefined) await only(program);
  else for (const register of Object.values(COMMANDS)) await register(program);
  return program;
}
