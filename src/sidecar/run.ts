import { AdminServer } from '../admin/index.ts';
import { createResponseCache } from '../cache/index.ts';
import { systemClock, type Clock } from '../clock/index.ts';
import { HealthChecker, HealthServer, type ProbeReport } from '../health/index.ts';
import type { Logger } from '../log/index.ts';
import { Metrics } from '../metrics/index.ts';
import { formatListenAddress, type ListenAddress, type Policy } from '../policy/index.ts';
import { PolicyReloader, PolicyWatcher, type ReloadResult } from '../reload/index.ts';
import { startTracing, type Tracing } from '../telemetry/index.ts';
import { bindFleet, startFleet, warnFleetChange } from './fleet.ts';
import { Sidecar } from './sidecar.ts';

/** What `breakwater run` and `breakwater demo` hand the runtime. */
export interface RunOptions {
  readonly policy: Policy;
  readonly logger: Logger;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Replaces `listen.proxy` (from `BREAKWATER_LISTEN_PROXY`). */
  readonly proxyListen?: readonly ListenAddress[];
  /**
   * Reads and compiles the policy file again (with the same environment and overrides as the
   * first load). With it, and a policy that came from a file, the file is watched and reloaded.
   * `signal` aborts when the sidecar closes (`breakwater run` parses reloads in a worker thread,
   * `loadPolicyFileInWorker`, so that a hostile file never stalls the listeners).
   */
  readonly loadPolicy?: (file: string, signal: AbortSignal) => Promise<Policy>;
  /** Reload debounce in ms; default 200. */
  readonly reloadDebounceMs?: number;
  /** Reload polling period in ms; default 10 s (0 disables). */
  readonly reloadPollIntervalMs?: number;
  /** Called after every reload attempt (tests). */
  readonly onReload?: (result: ReloadResult) => void;
  /** Called after every active health probe (tests). */
  readonly onProbe?: (report: ProbeReport) => void;
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`, read by the CLI; `telemetry.otlp.endpoint` wins over it. */
  readonly otlpEndpoint?: string;
  /** Longest wait before spans are sent, ms; default 5000 (tests shorten it). */
  readonly traceExportDelayMs?: number;
}

/**
 * Tracing when an endpoint is configured. A failure to start it (the optional OpenTelemetry
 * packages not installed) is logged and the sidecar serves without it: tracing never stops calls.
 */
async function tracingFor(options: RunOptions): Promise<Tracing | null> {
  try {
    return await startTracing({
      policyEndpoint: options.policy.telemetry.otlpEndpoint,
      envEndpoint: options.otlpEndpoint,
      ...(options.traceExportDelayMs === undefined ? {} : { exportDelayMs: options.traceExportDelayMs }),
    });
  } catch (err) {
    options.logger.error({ err }, 'tracing not started: are the @opentelemetry packages installed?');
    return null;
  }
}

/**
 * Starts a whole sidecar: the proxy listeners with the cache its policy names, the admin and
 * health listeners, active health checks, and — when the policy came from a file and `loadPolicy`
 * is given — the reload watcher. Marks startup complete once everything is bound; on any failure
 * closes what was started and rethrows (`BW_ERR_LISTEN_FAILED` names the address).
 */
export async function startSidecar(options: RunOptions): Promise<Sidecar> {
  const { policy, logger } = options;
  const clock = options.clock ?? systemClock;
  const metrics = new Metrics();
  const tracing = await tracingFor(options);
  // Fleet mode first: the group's state is known before the first generation serves a call.
  const fleet =
    policy.fleet === null
      ? null
      : await startFleet(policy, clock, logger, metrics).catch(async (err: unknown) => {
          await tracing?.shutdown();
          throw err;
        });
  let sidecar: Sidecar;
  try {
    sidecar = await Sidecar.start({
      policy,
      logger,
      clock,
      metrics,
      tracing,
      ...(options.proxyListen ? { proxyListen: options.proxyListen } : {}),
      ...(fleet !== null ? { onUpstreams: (set) => bindFleet(fleet, set) } : {}),
      // The cache logs its own breaker's transitions; the metrics record them here.
      createCache: (p) =>
        createResponseCache(p.cache, { clock, logger, onTransition: (t) => metrics.recordTransition(t) }),
    });
  } catch (err) {
    await fleet?.close();
    await tracing?.shutdown();
    throw err;
  }
  if (tracing !== null) sidecar.attach({ close: () => tracing.shutdown() });
  if (fleet !== null) {
    sidecar.fleet = fleet;
    sidecar.attach(fleet);
    sidecar.onPolicy((p) => warnFleetChange(policy, p, logger));
  }
  try {
    const admin = await AdminServer.start(sidecar, policy.listen.admin, logger);
    sidecar.attach(admin);
    const health = await HealthServer.start(sidecar, policy.listen.health, logger);
    sidecar.attach(health);
    sidecar.setControlAddresses(admin.address, health.address);
    const checker = new HealthChecker({
      clock,
      logger,
      upstream: (name) => sidecar.upstream(name),
      ...(options.onProbe ? { onProbe: options.onProbe } : {}),
    });
    checker.sync(policy);
    sidecar.onPolicy((p) => checker.sync(p));
    sidecar.attach(checker);
    if (policy.source.file !== null && options.loadPolicy)
      startReload(sidecar, policy.source.file, options, clock);
  } catch (err) {
    await sidecar.close();
    throw err;
  }
  sidecar.markStarted();
  const addr = (a: { address: string; port: number }): string =>
    formatListenAddress({ host: a.address, port: a.port });
  logger.info(
    {
      proxy: sidecar.proxyAddresses.map(addr),
      admin: addr(sidecar.adminAddress!),
      health: addr(sidecar.healthAddress!),
      policy: policy.source.file,
      sha256: policy.source.sha256,
      upstreams: policy.upstreams.map((u) => u.name),
      routes: policy.routes.map((r) => r.name),
    },
    'breakwater listening',
  );
  return sidecar;
}

function startReload(sidecar: Sidecar, file: string, options: RunOptions, clock: Clock): void {
  const reloader = new PolicyReloader({
    file,
    load: options.loadPolicy!,
    current: () => sidecar.policy,
    apply: (p) => sidecar.applyPolicy(p),
    metrics: sidecar.metrics,
    logger: options.logger,
    clock,
    ...(options.onReload ? { onResult: options.onReload } : {}),
  });
  const watcher = new PolicyWatcher({
    file,
    clock,
    logger: options.logger,
    ...(options.reloadDebounceMs !== undefined ? { debounceMs: options.reloadDebounceMs } : {}),
    ...(options.reloadPollIntervalMs !== undefined ? { pollIntervalMs: options.reloadPollIntervalMs } : {}),
    onTrigger: (trigger) => void reloader.reload(trigger),
  });
  watcher.start();
  sidecar.setReloader(reloader);
  sidecar.attach(reloader);
  sidecar.attach(watcher);
}
