import type { Command } from 'commander';
import { hostname } from 'node:os';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../log/index.ts';
import { loadPolicyFile, loadPolicyFileInWorker, type Policy } from '../policy/index.ts';
import { startSidecar, type Sidecar } from '../sidecar/index.ts';
import { parseListenList } from './listen.ts';
import { ExitCode, type CliIo } from './program.ts';

/** Default policy path inside the container (the ConfigMap's directory mount). */
export const DEFAULT_CONFIG_PATH = '/etc/breakwater/policy.yaml';

/** Pod ids the fleet accepts: a Kubernetes pod name or a hostname. */
const POD_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/**
 * The fleet's pod id when the policy leaves `fleet.podId` unset: `$POD_NAME` (the Downward API),
 * then the hostname (a pod's hostname is its name). Throws when neither is usable.
 */
export function defaultPodId(env: NodeJS.ProcessEnv, host: string = hostname()): string {
  const id = env.POD_NAME !== undefined && env.POD_NAME !== '' ? env.POD_NAME : host;
  if (!POD_ID_RE.test(id)) {
    throw new Error(
      `fleet.podId: expected a pod id of letters, digits, ".", "_" or "-" from $POD_NAME or the hostname, got ${JSON.stringify(id)}`,
    );
  }
  return id;
}

/**
 * Applies the environment overrides `inject --via hosts` relies on (`BREAKWATER_RESOLVER`) and
 * the fleet's default pod id.
 */
export function applyEnvOverrides(policy: Policy, env: NodeJS.ProcessEnv): Policy {
  let p = policy;
  const resolver = env.BREAKWATER_RESOLVER;
  if (resolver === 'dns' || resolver === 'system') p = { ...p, resolver };
  if (p.fleet !== null && p.fleet.podId === null) {
    p = { ...p, fleet: Object.freeze({ ...p.fleet, podId: defaultPodId(env) }) };
  }
  return p === policy ? policy : Object.freeze(p);
}

/** Waits for pino's asynchronous destination to write what it holds. */
function flushLogs(sidecar: Sidecar): Promise<void> {
  return new Promise((resolve) => sidecar.logger.flush(() => resolve()));
}

/**
 * Signal handling of a running sidecar (docs/operations.md#graceful-shutdown-drain), installed before anything starts: a SIGTERM
 * during startup must not kill the process with the default action; it is held and acted on once
 * the sidecar is attached. SIGTERM/SIGINT: readiness fails at once, requests keep being served
 * while draining (`sidecar.shutdown()`), then `stop()` closes everything, logs are flushed and the
 * process exits 0. A second SIGTERM/SIGINT exits at once (0). SIGHUP re-reads the policy file.
 */
export class SignalHandlers {
  #sidecar: Sidecar | null = null;
  #stop: (() => Promise<void>) | null = null;
  #pending: NodeJS.Signals | null = null;
  #stopping = false;

  constructor() {
    process.on('SIGTERM', this.#onStop);
    process.on('SIGINT', this.#onStop);
    process.on('SIGHUP', this.#onHup);
  }

  /** Hands over the started sidecar and how to stop it; acts on a signal that came during startup. */
  attach(sidecar: Sidecar, stop: () => Promise<void>): void {
    this.#sidecar = sidecar;
    this.#stop = stop;
    if (this.#pending !== null) this.#onStop(this.#pending);
  }

  readonly #onStop = (signal: NodeJS.Signals): void => {
    const sidecar = this.#sidecar;
    if (sidecar === null) {
      if (this.#pending !== null) process.exit(ExitCode.OK);
      this.#pending = signal;
      return;
    }
    if (this.#stopping) {
      sidecar.logger.warn({ signal }, 'second signal: exiting now');
      sidecar.logger.flush();
      process.exit(ExitCode.OK);
    }
    this.#stopping = true;
    const s = sidecar.policy.shutdown;
    sidecar.logger.info(
      {
        signal,
        drainDelayMs: s.drainDelayMs,
        quietPeriodMs: s.quietPeriodMs,
        timeoutMs: s.timeoutMs,
        inflight: sidecar.proxy.inflight,
      },
      'shutting down: readiness failing, draining (send the signal again to exit now)',
    );
    const stop = this.#stop!;
    sidecar
      .shutdown()
      .then(async (outcome) => {
        await stop();
        sidecar.logger.info({ outcome }, 'stopped');
        await flushLogs(sidecar);
        process.exit(ExitCode.OK);
      })
      .catch(async (err: unknown) => {
        sidecar.logger.error({ err }, 'shutdown failed');
        await flushLogs(sidecar);
        process.exit(ExitCode.FAILURE);
      });
  };

  readonly #onHup = (): void => {
    const sidecar = this.#sidecar;
    if (sidecar === null) return;
    void sidecar.reload('signal').then((result) => {
      if (result === null) sidecar.logger.warn('SIGHUP: this policy has no file to reload');
    });
  };
}

/** Installs the signal handlers of an already started sidecar (see {@link SignalHandlers}). */
export function installSignals(sidecar: Sidecar, stop: () => Promise<void>): void {
  new SignalHandlers().attach(sidecar, stop);
}

export function registerRun(program: Command, io: CliIo): void {
  program
    .command('run')
    .description('start the sidecar')
    .option('-c, --config <file>', `policy file (default $BREAKWATER_CONFIG or ${DEFAULT_CONFIG_PATH})`)
    .option('--log-level <level>', 'pino level (default $LOG_LEVEL or info)')
    .action(async (opts: { config?: string; logLevel?: string }) => {
      const env = process.env;
      const file = opts.config ?? env.BREAKWATER_CONFIG ?? DEFAULT_CONFIG_PATH;
      const level = (opts.logLevel ?? env.LOG_LEVEL ?? 'info') as LevelWithSilent;
      let policy: Policy;
      try {
        policy = applyEnvOverrides(await loadPolicyFile(file, { env }), env);
      } catch (err) {
        io.err(`breakwater: invalid policy\n${(err as Error).message}\n`);
        process.exit(ExitCode.INVALID);
      }
      let proxyListen;
      try {
        proxyListen = env.BREAKWATER_LISTEN_PROXY ? parseListenList(env.BREAKWATER_LISTEN_PROXY) : undefined;
      } catch (err) {
        io.err(`breakwater: BREAKWATER_LISTEN_PROXY: ${(err as Error).message}\n`);
        process.exit(ExitCode.INVALID);
      }
      const logger = createLogger({ level });
      const signals = new SignalHandlers();
      let sidecar: Sidecar;
      try {
        sidecar = await startSidecar({
          policy,
          logger,
          // Reloads parse in a worker thread: a hostile file must not stall the listeners.
          loadPolicy: async (f, signal) =>
            applyEnvOverrides(await loadPolicyFileInWorker(f, { env, signal }), env),
          ...(proxyListen ? { proxyListen } : {}),
          ...(env.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
        });
      } catch (err) {
        logger.fatal({ err }, 'cannot start');
        logger.flush();
        io.err(`breakwater: ${(err as Error).message}\n`);
        process.exit(ExitCode.FAILURE);
      }
      signals.attach(sidecar, () => sidecar.close());
    });
}
