import type { Attributes, Context, Span, TextMapGetter, TextMapSetter, Tracer } from '@opentelemetry/api';
import type { AttemptEnd, AttemptSpan, AttemptStart, RequestTracer, Tracing } from './observer.ts';

/** The modules tracing needs, loaded together on first use. */
interface OtelModules {
  readonly api: typeof import('@opentelemetry/api');
  readonly core: typeof import('@opentelemetry/core');
  readonly sdk: typeof import('@opentelemetry/sdk-trace');
  readonly resources: typeof import('@opentelemetry/resources');
  readonly exporter: typeof import('@opentelemetry/exporter-trace-otlp-http');
}

/**
 * Loads the OpenTelemetry packages. Dynamic imports only: with tracing off none of them is ever
 * loaded, so idle memory and per-request work stay as they were (docs/benchmarks.md#telemetry).
 */
async function loadOtel(): Promise<OtelModules> {
  const [api, core, sdk, resources, exporter] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  return { api, core, sdk, resources, exporter };
}

type Carrier = Record<string, string | undefined>;
const getter: TextMapGetter<Carrier> = {
  keys: (c) => Object.keys(c),
  get: (c, k) => c[k],
};
const setter: TextMapSetter<Carrier> = {
  set: (c, k, v) => {
    c[k] = v;
  },
};

/** Options of {@link startOtelTracing}. */
export interface OtelOptions {
  /** OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces` as JSON. */
  readonly endpoint: string;
  /** `service.name` of the resource; default `breakwater`. */
  readonly serviceName?: string;
  /** `service.version`. */
  readonly serviceVersion?: string;
  /** Longest wait before a batch is sent, ms; default 5000 (the SDK's). */
  readonly exportDelayMs?: number;
}

/**
 * Starts OpenTelemetry tracing to an OTLP/HTTP endpoint: spans batched by the SDK's
 * BatchSpanProcessor (bounded queue of 2048 spans; spans past it are dropped, never blocking a
 * request), W3C trace context in and out. No global provider is registered.
 */
export async function startOtelTracing(options: OtelOptions): Promise<Tracing> {
  const m = await loadOtel();
  const exporter = new m.exporter.OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` });
  const provider = new m.sdk.TracerProvider({
    resource: m.resources.resourceFromAttributes({
      'service.name': options.serviceName ?? 'breakwater',
      ...(options.serviceVersion === undefined ? {} : { 'service.version': options.serviceVersion }),
    }),
    spanProcessors: [
      new m.sdk.BatchSpanProcessor({ exporter, scheduledDelayMillis: options.exportDelayMs ?? 5000 }),
    ],
  });
  const tracer = provider.getTracer('breakwater');
  const propagator = new m.core.W3CTraceContextPropagator();
  const ctx = { m, tracer, propagator };
  return {
    startRequest(info) {
      const carrier: Carrier = { traceparent: info.traceparent, tracestate: info.tracestate };
      const parent = propagator.extract(m.api.ROOT_CONTEXT, carrier, getter);
      const attributes: Attributes = {
        'http.request.method': info.method,
        'url.path': info.path,
        'breakwater.route': info.route,
        'gen_ai.operation.name': info.operation,
        'gen_ai.provider.name': info.system,
      };
      if (info.model !== null) attributes['gen_ai.request.model'] = info.model;
      const span = tracer.startSpan(
        `${info.method} ${info.route}`,
        { kind: m.api.SpanKind.SERVER, attributes },
        parent,
      );
      return new OtelRequest(ctx, span, m.api.trace.setSpan(parent, span), info.operation);
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

interface Shared {
  readonly m: OtelModules;
  readonly tracer: Tracer;
  readonly propagator: InstanceType<OtelModules['core']['W3CTraceContextPropagator']>;
}

class OtelRequest implements RequestTracer {
  readonly #s: Shared;
  readonly #span: Span;
  readonly #ctx: Context;
  readonly #operation: string;
  #attempts = 0;

  constructor(s: Shared, span: Span, ctx: Context, operation: string) {
    this.#s = s;
    this.#span = span;
    this.#ctx = ctx;
    this.#operation = operation;
  }

  attempt(start: AttemptStart): AttemptSpan {
    const { m, tracer, propagator } = this.#s;
    const attributes: Attributes = {
      'breakwater.tier': start.tier,
      'breakwater.tier.kind': start.kind,
      'breakwater.attempt': ++this.#attempts,
      'gen_ai.operation.name': this.#operation,
    };
    if (start.model !== null) attributes['gen_ai.request.model'] = start.model;
    if (start.breakerState !== null) attributes['breakwater.breaker.state'] = start.breakerState;
    const name = `${this.#operation} ${start.tier}`;
    const kind = start.kind === 'upstream' ? m.api.SpanKind.CLIENT : m.api.SpanKind.INTERNAL;
    const span = tracer.startSpan(name, { kind, attributes }, this.#ctx);
    const carrier: Carrier = {};
    propagator.inject(m.api.trace.setSpan(this.#ctx, span), carrier, setter);
    return {
      traceparent: carrier.traceparent ?? '',
      end: (end: AttemptEnd) => {
        const a: Attributes = { 'breakwater.attempt.outcome': end.outcome };
        if (end.reason !== null) a['breakwater.attempt.reason'] = end.reason;
        if (end.status !== null) a['http.response.status_code'] = end.status;
        if (end.promptTokens !== null) a['gen_ai.usage.input_tokens'] = end.promptTokens;
        if (end.completionTokens !== null) a['gen_ai.usage.output_tokens'] = end.completionTokens;
        span.setAttributes(a);
        if (end.outcome === 'failed') {
          span.setStatus({ code: m.api.SpanStatusCode.ERROR, message: end.reason ?? 'failed' });
        }
        span.end();
      },
    };
  }

  end(tier: string, status: number, skipped: string | null): void {
    const a: Attributes = { 'breakwater.tier': tier, 'http.response.status_code': status };
    if (skipped !== null) a['breakwater.skipped'] = skipped;
    this.#span.setAttributes(a);
    if (status >= 500) this.#span.setStatus({ code: this.#s.m.api.SpanStatusCode.ERROR });
    this.#span.end();
  }
}
