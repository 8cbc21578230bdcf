import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { ErrorCode, hasCode } from '../errors/index.ts';
import { DEFAULT_MAX_BODY_BYTES, PodMutator, WebhookServer, type InjectOptions } from '../kube/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { formatDuration, parseDuration, parseSize } from '../policy/index.ts';
import { addInjectFlags, injectOptions, type InjectFlags } from './inject.ts';
import { parseListenList } from './listen.ts';
import { ExitCode, type CliIo } from './program.ts';

/**
 * Default wait between SIGTERM and closing the listener: the API server keeps sending reviews to
 * a terminating pod until the endpoint removal reaches it, and a review that finds the port closed
 * fails open (the pod is created without the sidecar).
 */
export const DEFAULT_SHUTDOWN_DELAY_MS = 5_000;

interface WebhookFlags extends InjectFlags {
  listen: string;
  cert: string;
  key: string;
  maxBody: string;
  shutdownDelay: string;
  logLevel?: string;
}

interface Settings {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly shutdownDelayMs: number;
  readonly inject: InjectOptions;
}

async function settings(flags: WebhookFlags): Promise<Settings> {
  const listen = parseListenList(flags.listen);
  if (listen.length !== 1)
    throw new Error(`--listen: expected one host:port, got ${JSON.stringify(flags.listen)}`);
  const maxBodyBytes = parseSize(flags.maxBody);
  if (maxBodyBytes === null || maxBodyBytes < 1024) {
    throw new Error(
      `--max-body: expected a size of at least 1KiB such as 3MiB, got ${JSON.stringify(flags.maxBody)}`,
    );
  }
  const shutdownDelayMs = parseDuration(flags.shutdownDelay);
  if (shutdownDelayMs === null) {
    throw new Error(
      `--shutdown-delay: expected a duration such as 5s, got ${JSON.stringify(flags.shutdownDelay)}`,
    );
  }
  // The ConfigMap file is read (and watched) by the server itself.
  const { configmapFile: _watched, ...rest } = flags;
  const inject = await injectOptions(rest);
  return { host: listen[0]!.host, port: listen[0]!.port, maxBodyBytes, shutdownDelayMs, inject };
}

/** Waits for pino's asynchronous destination to write what it holds. */
function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/**
 * SIGTERM/SIGINT: `/healthz` fails at once, reviews are still answered for the shutdown delay,
 * then the listener closes (reviews in flight finish) and the process exits 0. A second signal
 * exits at once. Installed before the server starts: a signal during startup is held until then.
 */
function installSignals(logger: Logger, delayMs: number): (webhook: WebhookServer) => void {
  let webhook: WebhookServer | null = null;
  let pending: NodeJS.Signals | null = null;
  let stopping = false;
  const stop = (w: WebhookServer, signal: NodeJS.Signals): void => {
    stopping = true;
    w.beginShutdown();
    logger.info({ signal, delayMs }, 'shutting down: /healthz failing, still answering reviews');
    setTimeout(() => {
      void w.close().then(async () => {
        logger.info('stopped');
        await flushLogs(logger);
        process.exit(ExitCode.OK);
      });
    }, delayMs);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping || (webhook === null && pending !== null)) {
      logger.warn({ signal }, 'second signal: exiting now');
      logger.flush();
      process.exit(ExitCode.OK);
    }
    if (webhook === null) pending = signal;
    else stop(webhook, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return (started) => {
    webhook = started;
    if (pending !== null) stop(started, pending);
  };
}

/**
 * `breakwater webhook --listen 0.0.0.0:8443 --cert FILE --key FILE [inject flags]`: the mutating
 * admission webhook (docs/kubernetes.md, "Automatic injection"). Exit 2 on bad flags, unreadable
 * or mismatched certificate files, or an unusable ConfigMap; 1 when it cannot bind; 0 after SIGTERM.
 */
export function registerWebhook(program: Command, io: CliIo): void {
  addInjectFlags(
    program
      .command('webhook')
      .description('serve the mutating admission webhook that injects the sidecar into new pods')
      .option('--listen <host:port>', 'HTTPS address', '0.0.0.0:8443')
      .requiredOption('--cert <file>', 'TLS certificate (PEM), reloaded when the file changes')
      .requiredOption('--key <file>', 'TLS private key (PEM), reloaded when the file changes')
      .option(
        '--max-body <size>',
        'largest AdmissionReview accepted',
        `${DEFAULT_MAX_BODY_BYTES / 1024 ** 2}MiB`,
      )
      .option(
        '--shutdown-delay <duration>',
        'how long reviews are still answered after SIGTERM',
        formatDuration(DEFAULT_SHUTDOWN_DELAY_MS),
      )
      .option('--log-level <level>', 'pino level (default $LOG_LEVEL or info)'),
  ).action(async (flags: WebhookFlags) => {
    let s: Settings;
    try {
      s = await settings(flags);
    } catch (err) {
      io.err(`breakwater webhook: ${(err as Error).message}\n`);
      process.exit(ExitCode.INVALID);
    }
    const logger = createLogger({
      level: (flags.logLevel ?? process.env.LOG_LEVEL ?? 'info') as LevelWithSilent,
    });
    const attach = installSignals(logger, s.shutdownDelayMs);
    try {
      const webhook = await WebhookServer.start({
        host: s.host,
        port: s.port,
        certFile: flags.cert,
        keyFile: flags.key,
        configMapFile: flags.configmapFile ?? null,
        mutator: (text) => new PodMutator({ inject: s.inject }, text),
        logger,
        maxBodyBytes: s.maxBodyBytes,
      });
      attach(webhook);
    } catch (err) {
      const usage = hasCode(err, ErrorCode.CERTIFICATE_INVALID) || hasCode(err, ErrorCode.MANIFEST_INVALID);
      logger.fatal({ err }, 'cannot start');
      await flushLogs(logger);
      io.err(`breakwater webhook: ${(err as Error).message}\n`);
      process.exit(usage ? ExitCode.INVALID : ExitCode.FAILURE);
    }
  });
}
