import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../clock/index.ts';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import type { Logger } from '../log/index.ts';
import { DirectoryWatch } from '../reload/index.ts';
import type { PodMutator } from './mutator.ts';
import { checkTls, readTlsFiles, tlsDigest, type TlsMaterial } from './tls-files.ts';
import { DEFAULT_MAX_BODY_BYTES, handleWebhookRequest, type WebhookState } from './webhook-http.ts';
import { WebhookMetrics } from './webhook-metrics.ts';

/**
 * Idle keep-alive connections are kept longer than the API server keeps them (Go's HTTP client
 * closes idle connections after 90 s): when the server closes first, a review racing the close
 * fails, and with `failurePolicy: Ignore` its pod is created without the sidecar.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
/** A review must arrive whole within this (the API server gives a webhook at most 30 s). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Headers must arrive within this. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** `close()` waits this long for reviews in flight, then cuts what is left. */
export const CLOSE_TIMEOUT_MS = 5_000;

/** Options of {@link WebhookServer.start}. */
export interface WebhookServerOptions {
  readonly host: string;
  /** 0 binds any free port (tests). */
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  /** The policy ConfigMap (or bare policy) file, reloaded like the certificate; null when none. */
  readonly configMapFile: string | null;
  /** Builds the mutator for the ConfigMap text; throws `BW_ERR_MANIFEST_INVALID` on an unusable one. */
  readonly mutator: (configMapText: string | null) => PodMutator;
  readonly logger: Logger;
  /** Default the system clock (debounce and poll timers). */
  readonly clock?: Clock;
  /** Default a fresh registry with process metrics. */
  readonly metrics?: WebhookMetrics;
  /** Default {@link DEFAULT_MAX_BODY_BYTES} (3 MiB). */
  readonly maxBodyBytes?: number;
  /** Debounce of file events; default 200 ms. */
  readonly debounceMs?: number;
  /** Poll period of the files; default 10 s, 0 disables. */
  readonly pollIntervalMs?: number;
  /** Called for every raw file event (tests). */
  readonly onFileEvent?: () => void;
  /** Called after every reload attempt with what changed (tests). */
  readonly onReload?: (report: ReloadReport) => void;
}

/** What a reload did to each file set. */
export interface ReloadReport {
  readonly certificate: 'unchanged' | 'reloaded' | 'failed';
  readonly configMap: 'unchanged' | 'reloaded' | 'failed';
}

const sha256 = (text: string | null): string =>
  createHash('sha256')
    .update(text ?? '\0none')
    .digest('hex');

async function readConfigMap(file: string | null): Promise<string | null> {
  if (file === null) return null;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new BreakwaterError(
      ErrorCode.MANIFEST_INVALID,
      `cannot read --configmap-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { cause: err },
    );
  }
}

/**
 * The admission webhook's HTTPS listener. Certificate, key and ConfigMap files are watched
 * (directory events, debounced, plus a poll) and reloaded when their bytes change: a new
 * certificate goes to `setSecureContext`, so connections already open — in flight or idle
 * keep-alive — carry on with the old one and new handshakes get the new one. A pair that does not
 * load (read halfway through a rotation) is refused and the old one kept.
 */
export class WebhookServer implements WebhookState {
  readonly #o: WebhookServerOptions;
  readonly #server: Server;
  readonly #watch: DirectoryWatch;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** The bound address (the real port when asked for 0). */
  address!: AddressInfo;
  mutator: PodMutator;
  shuttingDown = false;
  #tlsSeen: string;
  #configSeen: string;
  #reloading: Promise<ReloadReport> | null = null;
  #again = false;

  private constructor(o: WebhookServerOptions, tls: TlsMaterial, config: string | null, mutator: PodMutator) {
    this.#o = o;
    this.logger = o.logger;
    this.metrics = o.metrics ?? new WebhookMetrics();
    this.maxBodyBytes = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.mutator = mutator;
    this.#tlsSeen = tls.digest;
    this.#configSeen = sha256(config);
    this.metrics.certificateServed(tls.notAfterMs);
    this.#server = createServer(
      {
        cert: tls.cert,
        key: tls.key,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
      },
      (req, res) => handleWebhookRequest(this, req, res),
    );
    this.#server.on('tlsClientError', (err) => this.logger.debug({ err }, 'TLS handshake failed'));
    const files = [o.certFile, o.keyFile, ...(o.configMapFile === null ? [] : [o.configMapFile])];
    this.#watch = new DirectoryWatch({
      files,
      what: 'certificate',
      clock: o.clock ?? systemClock,
      logger: o.logger,
      ...(o.debounceMs === undefined ? {} : { debounceMs: o.debounceMs }),
      ...(o.pollIntervalMs === undefined ? {} : { pollIntervalMs: o.pollIntervalMs }),
      ...(o.onFileEvent === undefined ? {} : { onEvent: o.onFileEvent }),
      onTrigger: () => void this.reload(),
    });
  }

  /**
   * Loads the files, binds, starts watching. Rejects with `BW_ERR_CERTIFICATE_INVALID` (files
   * unreadable or not a pair), `BW_ERR_MANIFEST_INVALID` (ConfigMap or options unusable) or
   * `BW_ERR_LISTEN_FAILED`.
   */
  static async start(o: WebhookServerOptions): Promise<WebhookServer> {
    const { cert, key } = await readTlsFiles(o.certFile, o.keyFile);
    const tls = checkTls(cert, key, o.certFile, o.keyFile);
    const config = await readConfigMap(o.configMapFile);
    const webhook = new WebhookServer(o, tls, config, o.mutator(config));
    await webhook.#listen();
    webhook.#watch.start();
    o.logger.info(
      {
        address: webhook.address,
        notAfter: new Date(tls.notAfterMs).toISOString(),
        fingerprint: tls.fingerprint,
      },
      'webhook listening',
    );
    for (const warning of webhook.mutator.warnings) o.logger.warn({ warning }, 'webhook options');
    return webhook;
  }

  async #listen(): Promise<void> {
    const { host, port } = this.#o;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new BreakwaterError(
            ErrorCode.LISTEN_FAILED,
            `cannot listen on ${host}:${port}: ${err.code ?? err.message}`,
            {
              cause: err,
            },
          ),
        ),
      );
      this.#server.listen(port, host, () => resolve());
    });
    this.address = this.#server.address() as AddressInfo;
  }

  /** Re-reads the files and applies what changed; one reload at a time (a trigger meanwhile runs one more). */
  reload(): Promise<ReloadReport> {
    if (this.#reloading !== null) {
      this.#again = true;
      return this.#reloading;
    }
    const run = async (): Promise<ReloadReport> => {
      let report: ReloadReport;
      do {
        this.#again = false;
        report = { certificate: await this.#reloadTls(), configMap: await this.#reloadConfigMap() };
        this.#o.onReload?.(report);
      } while (this.#again);
      return report;
    };
    this.#reloading = run().finally(() => (this.#reloading = null));
    return this.#reloading;
  }

  async #reloadTls(): Promise<ReloadReport['certificate']> {
    const { certFile, keyFile } = this.#o;
    try {
      const { cert, key } = await readTlsFiles(certFile, keyFile);
      const digest = tlsDigest(cert, key);
      if (digest === this.#tlsSeen) return 'unchanged';
      // Bytes seen once are not tried again: a broken pair is refused once, not at every poll.
      this.#tlsSeen = digest;
      const tls = checkTls(cert, key, certFile, keyFile);
      this.#server.setSecureContext({ cert: tls.cert, key: tls.key });
      this.metrics.certificateReloaded(true, tls.notAfterMs);
      const notAfter = new Date(tls.notAfterMs).toISOString();
      this.logger.info({ notAfter, fingerprint: tls.fingerprint }, 'certificate reloaded');
      return 'reloaded';
    } catch (err) {
      this.metrics.certificateReloaded(false);
      this.logger.warn({ err }, 'certificate not reloaded; still serving the previous one');
      return 'failed';
    }
  }

  async #reloadConfigMap(): Promise<ReloadReport['configMap']> {
    if (this.#o.configMapFile === null) return 'unchanged';
    try {
      const text = await readConfigMap(this.#o.configMapFile);
      const digest = sha256(text);
      if (digest === this.#configSeen) return 'unchanged';
      this.mutator = this.#o.mutator(text);
      this.#configSeen = digest;
      this.logger.info({ file: this.#o.configMapFile }, 'policy ConfigMap reloaded');
      for (const warning of this.mutator.warnings) this.logger.warn({ warning }, 'webhook options');
      return 'reloaded';
    } catch (err) {
      this.logger.warn({ err }, 'policy ConfigMap not reloaded; keeping the previous one');
      return 'failed';
    }
  }

  /** `/healthz` answers 503 from now on (the Service stops sending reviews); reviews are still answered. */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** Stops watching and listening; waits up to {@link CLOSE_TIMEOUT_MS} for reviews in flight. */
  close(): Promise<void> {
    this.shuttingDown = true;
    this.#watch.close();
    return new Promise((resolve) => {
      const cut = setTimeout(() => this.#server.closeAllConnections(), CLOSE_TIMEOUT_MS);
      cut.unref();
      this.#server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      this.#server.closeIdleConnections();
    });
  }
}
