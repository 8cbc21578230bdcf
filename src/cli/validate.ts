import type { Command } from 'commander';
import { hasCode, ErrorCode } from '../errors/index.ts';
import { formatProblem, loadPolicyFile, type PolicyEnv, type PolicyProblem } from '../policy/index.ts';
import { ExitCode, type CliIo } from './program.ts';

/** Result of validating one file (`--json` prints a list of these under `files`). */
export interface ValidateResult {
  readonly file: string;
  readonly ok: boolean;
  /** sha256 of the file's bytes; null when it is not valid. */
  readonly sha256: string | null;
  readonly upstreams: number | null;
  readonly routes: number | null;
  readonly problems: readonly PolicyProblem[];
}

async function validateOne(file: string, env: PolicyEnv): Promise<ValidateResult> {
  try {
    const policy = await loadPolicyFile(file, { env });
    const { upstreams, routes } = policy;
    return {
      file,
      ok: true,
      sha256: policy.source.sha256,
      upstreams: upstreams.length,
      routes: routes.length,
      problems: [],
    };
  } catch (err) {
    if (!hasCode(err, ErrorCode.POLICY_INVALID) && !hasCode(err, ErrorCode.POLICY_UNREADABLE)) throw err;
    const problems = (err as { problems?: readonly PolicyProblem[] }).problems ?? [];
    return { file, ok: false, sha256: null, upstreams: null, routes: null, problems };
  }
}

/**
 * Validates policy files as `breakwater run` would load them (same `${ENV}` interpolation from
 * `env`). Prints `ok  FILE (sha256 abcd…, N upstreams, M routes)` per valid file on stdout and one
 * `FILE:LINE:COL: KEY: message` line per problem on stderr; with `json`, one JSON document on stdout.
 * Returns exit code 0 when every file is valid, 2 otherwise.
 */
export async function runValidate(
  files: readonly string[],
  options: { readonly json: boolean },
  io: CliIo,
  env: PolicyEnv,
): Promise<ExitCode> {
  const results: ValidateResult[] = [];
  for (const file of files) results.push(await validateOne(file, env));
  if (options.json) {
    io.out(`${JSON.stringify({ files: results }, null, 2)}\n`);
  } else {
    for (const r of results) {
      if (r.ok) {
        const plural = (n: number | null, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
        io.out(
          `ok  ${r.file} (sha256 ${r.sha256?.slice(0, 12)}…, ${plural(r.upstreams, 'upstream')}, ${plural(r.routes, 'route')})\n`,
        );
      } else {
        for (const p of r.problems) io.err(`${formatProblem(p)}\n`);
      }
    }
  }
  return results.every((r) => r.ok) ? ExitCode.OK : ExitCode.INVALID;
}

/** Registers `breakwater validate FILE... [--json]` on `program`. */
export function registerValidate(program: Command, io: CliIo, env: PolicyEnv): Command {
  return program
    .command('validate')
    .description('check policy files without starting anything (exit 0 when all are valid, 2 otherwise)')
    .argument('<file...>', 'policy files (YAML)')
    .option('--json', 'print {files: [{file, ok, problems}]} as JSON')
    .action(async (files: string[], options: { json?: boolean }) => {
      process.exitCode = await runValidate(files, { json: options.json === true }, io, env);
    });
}
