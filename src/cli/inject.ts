import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import type { Command } from 'commander';
import {
  checkConfigMapName,
  checkImage,
  checkQuantity,
  checkEnvName,
  INJECT_DEFAULTS,
  injectManifests,
  parseUpstreamFlag,
  parseVia,
  type InjectOptions,
} from '../kube/index.ts';
import { ExitCode, VERSION, type CliIo } from './program.ts';

/** The flags `inject` and `webhook` share: how the sidecar is made. */
export interface InjectFlags {
  image: string;
  configmap: string;
  configmapFile?: string;
  via: string;
  env: string[];
  upstream: string[];
  bypass: string[];
  legacy?: boolean;
  cpu: string;
  memory: string;
  memoryLimit: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

async function readInput(file: string, stdin: NodeJS.ReadableStream): Promise<string> {
  return file === '-' ? text(stdin) : readFile(file, 'utf8');
}

/** Turns the flags into final {@link InjectOptions}; throws `BW_ERR_MANIFEST_INVALID` on bad values. */
export async function injectOptions(flags: InjectFlags): Promise<InjectOptions> {
  return {
    image: checkImage('--image', flags.image),
    version: VERSION,
    configMap: checkConfigMapName(flags.configmap),
    configMapText: flags.configmapFile === undefined ? null : await readFile(flags.configmapFile, 'utf8'),
    via: parseVia(flags.via),
    envNames: flags.env.map(checkEnvName),
    upstreams: flags.upstream.map(parseUpstreamFlag),
    noProxy: flags.bypass,
    legacy: flags.legacy === true,
    cpuRequest: checkQuantity('--cpu', flags.cpu),
    memoryRequest: checkQuantity('--memory', flags.memory),
    memoryLimit: checkQuantity('--memory-limit', flags.memoryLimit),
  };
}

/** Adds the flags of {@link InjectFlags} to `command` (shared by `inject` and `webhook`). */
export function addInjectFlags(command: Command): Command {
  return command
    .option(
      '--image <image>',
      'sidecar image ($BREAKWATER_IMAGE)',
      process.env.BREAKWATER_IMAGE ?? `breakwater:${VERSION}`,
    )
    .option('--configmap <name>', 'policy ConfigMap mounted at /etc/breakwater', INJECT_DEFAULTS.configMap)
    .option(
      '--configmap-file <file>',
      'the ConfigMap (or a bare policy file) for checksum, ports and upstreams',
    )
    .option('--via <mode>', 'how the app reaches the sidecar: env, proxy or hosts', INJECT_DEFAULTS.via)
    .option('--env <name>', 'extra env var holding an upstream URL (--via env; repeatable)', collect, [])
    .option('--upstream <name=url>', 'upstream the app calls (--via hosts / proxy; repeatable)', collect, [])
    .option('--bypass <host>', 'extra NO_PROXY entry (--via proxy; repeatable)', collect, [])
    .option('--legacy', 'sidecar in containers, for clusters before Kubernetes 1.29')
    .option('--cpu <quantity>', 'sidecar CPU request', INJECT_DEFAULTS.cpuRequest)
    .option('--memory <quantity>', 'sidecar memory request', INJECT_DEFAULTS.memoryRequest)
    .option('--memory-limit <quantity>', 'sidecar memory limit', INJECT_DEFAULTS.memoryLimit);
}

/**
 * `breakwater inject [-f FILE|-]`: prints the manifests with the sidecar added; warnings go to
 * stderr. Exit 0, or 2 on YAML that does not parse, a workload without containers, bad flags or
 * an unreadable file.
 */
export function registerInject(
  program: Command,
  io: CliIo,
  stdin: NodeJS.ReadableStream = process.stdin,
): void {
  addInjectFlags(
    program
      .command('inject')
      .description('print Kubernetes manifests with the breakwater sidecar added')
      .option('-f, --file <file>', 'manifests to read, - for stdin', '-'),
  ).action(async (flags: InjectFlags & { file: string }) => {
    try {
      const options = await injectOptions(flags);
      const result = injectManifests(await readInput(flags.file, stdin), options);
      for (const warning of result.warnings) io.err(`breakwater inject: warning: ${warning}\n`);
      io.out(result.output);
    } catch (err) {
      io.err(`breakwater inject: ${(err as Error).message}\n`);
      process.exitCode = ExitCode.INVALID;
    }
  });
}
