import type { Tracing } from './observer.ts';

/** Options of {@link startTracing}. */
export interface TracingOptions {
  /** `telemetry.otlp.endpoint` of the policy, or null. */
  readonly policyEndpoint: string | null;
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` as the CLI read it, or undefined. */
  readonly envEndpoint: string | undefined;
  readonly serviceVersion?: string;
  /** Longest wait before a batch of spans is sent, ms; default 5000. */
  readonly exportDelayMs?: number;
}

/**
 * Tracing when an endpoint is configured (the policy's wins over the environment's), else null.
 * The OpenTelemetry packages are imported here, on demand: a sidecar without an endpoint never
 * loads them. Rejects when they are not installed (they are optional dependencies).
 */
export async function startTracing(options: TracingOptions): Promise<Tracing | null> {
  const raw = options.policyEndpoint ?? options.envEndpoint?.trim();
  if (raw === undefined || raw === '') return null;
  const { startOtelTracing } = await import('./otel.ts');
  return startOtelTracing({
    endpoint: raw.replace(/\/+$/, ''),
    ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }),
    ...(options.exportDelayMs === undefined ? {} : { exportDelayMs: options.exportDelayMs }),
  });
}
