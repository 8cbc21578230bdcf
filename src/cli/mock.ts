import { InvalidArgumentError, Option, type Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { createLogger, type Logger } from '../log/index.ts';
import { FaultMode, MockKind, startMock, type FaultSpec, type MockOptions } from '../mock/index.ts';
import { ExitCode, type CliIo } from './program.ts';

/** Default API port per kind: the real servers' ports. */
const DEFAULT_PORTS: Readonly<Record<MockKind, number>> = { max: 8000, ollama: 11434 };

/** Options as commander parses them. */
interface MockCliOptions {
  host: string;
  port?: number;
  controlPort: number;
  fail?: FaultMode;
  status?: number;
  delay?: number;
  afterChunks?: number;
  count?: number;
  pathPrefix?: string;
  chunks?: number;
  chunkDelay?: number;
  model?: string[];
  strictModels?: boolean;
  replyText?: string;
  logLevel?: string;
}

function intArg(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer ${min}..${max}`);
    return n;
  };
}

/** Milliseconds: a bare number, or a number with `ms`, `s` or `m`. */
export function parseDurationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 250, 250ms, 5s or 1m');
  const n = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  return Math.round(n);
}

function collect(v: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), v];
}

/** The fault of `--fail` and its modifiers, or undefined without `--fail`. */
function faultFrom(o: MockCliOptions): FaultSpec | undefined {
  if (o.fail === undefined) return undefined;
  return {
    mode: o.fail,
    ...(o.status !== undefined && { status: o.status }),
    ...(o.delay !== undefined && { delayMs: o.delay }),
    ...(o.afterChunks !== undefined && { afterChunks: o.afterChunks }),
    ...(o.count !== undefined && { count: o.count }),
    ...(o.pathPrefix !== undefined && { pathPrefix: o.pathPrefix }),
  };
}

/** Resolves once SIGTERM or SIGINT arrives; a second signal exits at once. */
function untilSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const on = (signal: NodeJS.Signals): void => {
      if (seen) process.exit(ExitCode.OK);
      seen = true;
      logger.info({ signal }, 'mock stopping');
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/** Registers `breakwater mock max|ollama`: a fake upstream with fault injection, until SIGTERM/SIGINT. */
export function registerMock(program: Command, io: CliIo): void {
  program
    .command('mock')
    .description('run a fake MAX Serve or Ollama (JSON and streaming) with fault injection')
    .addArgument(program.createArgument('<kind>', 'max or ollama').choices(Object.values(MockKind)))
    .option('--host <host>', 'address of both listeners', '127.0.0.1')
    .option('--port <n>', 'API port (default 8000 for max, 11434 for ollama; 0 = any)', intArg(0, 65535))
    .option('--control-port <n>', 'control API port (0 = any free port)', intArg(0, 65535), 0)
    .addOption(new Option('--fail <mode>', 'fault active from the start').choices(Object.values(FaultMode)))
    .option('--status <n>', 'status of --fail status (default 503)', intArg(100, 599))
    .option(
      '--delay <duration>',
      'first-token delay of slow; delay before status / in-band-error',
      parseDurationMs,
    )
    .option('--after-chunks <n>', 'events sent before a mid-stream fault (default 2)', intArg(0, 100_000))
    .option('--count <n>', 'apply the fault to the next N requests only', intArg(1, Number.MAX_SAFE_INTEGER))
    .option('--path-prefix <path>', 'only requests whose path starts with this')
    .option('--chunks <n>', 'content chunks per reply (default 8)', intArg(1, 100_000))
    .option('--chunk-delay <duration>', 'delay between stream events (default 0)', parseDurationMs)
    .option('--model <name>', 'a served model (repeatable; default llama-3.1-8b / llama3.1:8b)', collect)
    .option('--strict-models', 'reject models not served, as the real server does')
    .option('--reply-text <text>', 'reply template; {kind} and {model} are replaced')
    .option('--log-level <level>', 'pino level (default $LOG_LEVEL or info)')
    .action(async (kind: MockKind, o: MockCliOptions) => {
      const logger = createLogger({
        level: (o.logLevel ?? process.env.LOG_LEVEL ?? 'info') as LevelWithSilent,
      });
      const options: MockOptions = {
        kind,
        host: o.host,
        port: o.port ?? DEFAULT_PORTS[kind],
        controlPort: o.controlPort,
        logger,
        ...(o.chunks !== undefined && { streamChunks: o.chunks }),
        ...(o.chunkDelay !== undefined && { chunkDelayMs: o.chunkDelay }),
        ...(o.model !== undefined && { models: o.model }),
        ...(o.strictModels === true && { strictModels: true }),
        ...(o.replyText !== undefined && { replyText: o.replyText }),
      };
      const fault = faultFrom(o);
      if (fault !== undefined) options.fault = fault;
      let mock;
      try {
        mock = await startMock(options);
      } catch (err) {
        io.err(`breakwater mock: ${(err as Error).message}\n`);
        const code =
          (err as { code?: unknown }).code === 'BW_ERR_REQUEST_INVALID' ? ExitCode.INVALID : ExitCode.FAILURE;
        process.exit(code);
      }
      logger.info(
        { mock: kind, url: mock.url, controlUrl: mock.controlUrl, fault: mock.fault() },
        `mock ${kind} listening on ${mock.url} (control ${mock.controlUrl})`,
      );
      await untilSignal(logger);
      await mock.close();
      await flush(logger);
    });
}
