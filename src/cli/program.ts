import { Command } from 'commander';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkg = require('../../package.json') as { version: string };

/** The package version, shown by `--version` and in `/config`. */
export const VERSION: string = pkg.version;

/** Exit codes of every command (documented in the README). */
export const ExitCode = {
  OK: 0,
  /** Runtime failure (cannot bind, admin API unreachable, load test errors). */
  FAILURE: 1,
  /** Invalid policy or invalid usage. */
  INVALID: 2,
  /** A named breaker does not exist. */
  NOT_FOUND: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Text output of human commands; injectable for tests of the CLI in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** The root `breakwater` command with global options; subcommands register on it. */
export function rootProgram(): Command {
  return new Command('breakwater')
    .description('Sidecar reverse proxy that guards LLM servers with circuit breakers and a fallback chain')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride((err) => {
      // Usage errors exit 2, like an invalid policy; help and version exit 0.
      process.exit(err.exitCode === 0 ? 0 : ExitCode.INVALID);
    });
}
