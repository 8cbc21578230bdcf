/**
 * The compiled, deep-frozen policy. Every value is final (defaults applied, durations in ms,
 * sizes in bytes, `${ENV}` interpolated). Nothing on the request path parses or defaults anything:
 * it reads these fields. A reload builds a whole new Policy and swaps one reference.
 */
export interface Policy {
  /** Where the policy came from; `file` is null for the embedded default. */
  readonly source: PolicySource;
  readonly listen: ListenPolicy;
  readonly admin: AdminPolicy;
  /** Upstreams in the order written in the file. Names are unique. */
  readonly upstreams: readonly UpstreamPolicy[];
  readonly cache: CachePolicy;
  /** Routes in the order written; with no `routes` key, one catch-all route named `default`. */
  readonly routes: readonly RoutePolicy[];
  /** Readiness mode of `/healthz/ready`; default `any-upstream`. */
  readonly readiness: ReadinessMode;
  readonly shutdown: ShutdownPolicy;
  readonly limits: LimitsPolicy;
  readonly telemetry: TelemetryPolicy;
  /**
   * How upstream hostnames are resolved; default `system` (getaddrinfo, honours /etc/hosts).
   * `dns`: resolve upstream hostnames with DNS queries, bypassing /etc/hosts — needed with
   * `inject --via hosts`, where hostAliases point upstream names at the sidecar itself.
   */
  readonly resolver: 'system' | 'dns';
  /** Fleet mode (docs/fleet.md); null (the default) = off: no Redis connection, no timers. */
  readonly fleet: FleetPolicy | null;
  /**
   * The policy as a plain JSON document with defaults applied and every secret replaced by
   * `"[redacted]"` (values that came from `${ENV}`, and credential-like keys: token, password,
   * authorization, url userinfo). Served by `GET /config`.
   */
  readonly redacted: unknown;
}

export interface PolicySource {
  /** Absolute path of the policy file, or null for the embedded default. */
  readonly file: string | null;
  /** sha256 (hex) of the file's bytes as read (before interpolation). */
  readonly sha256: string;
  /** When it was loaded, ms since epoch. */
  readonly loadedAtMs: number;
}

export interface ListenAddress {
  /** Host or IP as written (`127.0.0.1`, `0.0.0.0`, `::1`, `localhost`). */
  readonly host: string;
  /** TCP port (0 = any free port; tests). */
  readonly port: number;
}

export interface ListenPolicy {
  /** `listen.proxy`: one address or a list. Default `127.0.0.1:15001`. */
  readonly proxy: readonly ListenAddress[];
  /** Default `127.0.0.1:15000`. */
  readonly admin: ListenAddress;
  /** Default `0.0.0.0:15021`. */
  readonly health: ListenAddress;
}

export interface AdminPolicy {
  /** `admin.token`; required when `listen.admin` is not loopback (a config error otherwise). */
  readonly token: string | null;
  /**
   * `admin.allowedHosts`: extra names the admin listener answers to in `Host` (`host` on any port,
   * `host:port` exactly), beyond `localhost`, loopback IPs, the bound host and, on a wildcard bind,
   * any IP literal. Default null (none). Lower-cased.
   */
  readonly allowedHosts: readonly string[] | null;
}

export const ReadinessMode = {
  ANY_UPSTREAM: 'any-upstream',
  PRIMARY: 'primary',
  CHAIN: 'chain',
  ALWAYS: 'always',
} as const;
export type ReadinessMode = (typeof ReadinessMode)[keyof typeof ReadinessMode];

export interface BreakerPolicy {
  /** Consecutive failures that open the breaker. Default 3. */
  readonly failureThreshold: number;
  /** Time open before half-opening. Default 30 s. */
  readonly recoveryTimeoutMs: number;
  /** Successes in half-open that close the breaker. Default 2. */
  readonly successThreshold: number;
  /** Concurrent trial requests while half-open. Default 1. */
  readonly halfOpenMaxRequests: number;
  /** Each re-open multiplies the recovery timeout by this. Default 2. */
  readonly backoffMultiplier: number;
  /** Cap of the backed-off recovery timeout. Default 5 min. */
  readonly maxRecoveryTimeoutMs: number;
  /** Random spread added to each recovery timeout, as a fraction (0.1 = up to +10 %). Default 0.1. */
  readonly jitter: number;
  /** Optional trip on failure rate in a rolling window; null when not configured. */
  readonly failureRate: FailureRatePolicy | null;
}

export interface FailureRatePolicy {
  /** Fraction 0<x≤1 (`50%` in YAML → 0.5). */
  readonly threshold: number;
  /** Rolling window length. Default 60 s. */
  readonly windowMs: number;
  /** Calls in the window before the rate is judged. Default 10. */
  readonly minimumRequests: number;
}

export interface UpstreamTimeouts {
  /** TCP/TLS connect. Default 1 s. */
  readonly connectMs: number;
  /** Until the first token can reach the client (first SSE event / NDJSON line, or whole body). Default 5 s. */
  readonly firstByteMs: number;
  /** Longest gap between stream chunks. Default 30 s. */
  readonly idleMs: number;
  /** Whole call; null = no limit (default). */
  readonly totalMs: number | null;
}

export interface HealthCheckPolicy {
  /** Path probed while the breaker is not closed. Default `/health`. */
  readonly path: string;
  /** Default 5 s. */
  readonly intervalMs: number;
  /** Default 2 s. */
  readonly timeoutMs: number;
  /** Probe even while closed. Default false. */
  readonly whileClosed: boolean;
  /** When set, the probe also checks this model is listed (`/v1/models` or `/api/tags`). */
  readonly expectModel: string | null;
}

export interface UpstreamPolicy {
  readonly name: string;
  /** Origin, e.g. `http://max-serve:8000` (no trailing slash, no path). */
  readonly origin: string;
  /** Path prefix from the url (`/` when none); prepended to forwarded paths when not `/`. */
  readonly basePath: string;
  /** Authority for the `Host` header, e.g. `max-serve:8000`. */
  readonly authority: string;
  /** Lower-cased hostname, e.g. `max-serve`. */
  readonly hostname: string;
  /** Port (defaulted from scheme). */
  readonly port: number;
  readonly timeouts: UpstreamTimeouts;
  readonly breaker: BreakerPolicy;
  /** In-flight calls above which requests spill to the next tier. Default 64. */
  readonly maxConcurrent: number;
  /**
   * Fleet mode: calls in flight to this upstream across the whole group, above which requests
   * spill to the next tier (`fleet-busy`). null (default): no fleet budget.
   */
  readonly fleetMaxConcurrent: number | null;
  /** Statuses that count as failure. Default 500, 502, 503, 504. */
  readonly failOn: ReadonlySet<number>;
  /** Extra headers (lower-case names), e.g. authorization. When it sets `authorization`, the client's is replaced. */
  readonly headers: Readonly<Record<string, string>>;
  /** null when not configured. */
  readonly healthCheck: HealthCheckPolicy | null;
}

export interface CachePolicy {
  /** Default `memory`. */
  readonly backend: 'memory' | 'redis';
  /** Redis URL (required for redis; null for memory). */
  readonly url: string | null;
  /** Entry lifetime. Default 1 h. */
  readonly ttlMs: number;
  /** Memory store: most entries. Default 10 000. */
  readonly maxEntries: number;
  /** Memory store: most bytes in all. Default 64 MiB. */
  readonly maxBytes: number;
  /** Largest single entry stored. Default 1 MiB. */
  readonly maxEntryBytes: number;
  /** Redis key prefix. Default `breakwater:`. */
  readonly keyPrefix: string;
  /**
   * Request headers hashed into the cache key (lower-case, unique): an answer is served only to
   * a request with the same values. Default: the credential headers of `CACHE_KEY_HEADERS`.
   */
  readonly keyHeaders: readonly string[];
  /** Redis command timeout. Default 50 ms. */
  readonly commandTimeoutMs: number;
  /** Breaker guarding the cache store itself. */
  readonly breaker: BreakerPolicy;
}

export const TierKind = { UPSTREAM: 'upstream', CACHE: 'cache', DEGRADED: 'degraded' } as const;
export type TierKind = (typeof TierKind)[keyof typeof TierKind];

export interface UpstreamTier {
  readonly kind: 'upstream';
  /** Name of an entry of `upstreams` (validated to exist). */
  readonly upstream: string;
  /** Request model rewrite: exact client model → tier model; key `*` matches any. Empty = no rewrite. */
  readonly models: Readonly<Record<string, string>>;
  /** Resume a cut stream on the next tier with the partial text as assistant prefix. Default false. */
  readonly continueOnNextTier: boolean;
}

export interface CacheTier {
  readonly kind: 'cache';
  /** Oldest answer this tier may serve; null = any within the TTL. */
  readonly maxStaleMs: number | null;
}

export interface DegradedTier {
  readonly kind: 'degraded';
  /** Default `Service temporarily unavailable`. */
  readonly message: string;
  /** Default 200. */
  readonly status: number;
}

export type TierPolicy = UpstreamTier | CacheTier | DegradedTier;

export interface RouteMatch {
  /**
   * Lower-cased `host` or `host:port` values; null = any host. A value without a port matches any port.
   */
  readonly hosts: readonly string[] | null;
  /** Default `/`. */
  readonly pathPrefix: string;
}

export interface RoutePolicy {
  readonly name: string;
  readonly match: RouteMatch;
  /** At least one tier. */
  readonly chain: readonly TierPolicy[];
}

export interface ShutdownPolicy {
  /** Default 5 s. */
  readonly drainDelayMs: number;
  /** Default 1 s. */
  readonly quietPeriodMs: number;
  /** Default 25 s. */
  readonly timeoutMs: number;
}

export interface TelemetryPolicy {
  /**
   * `telemetry.otlp.endpoint`: OTLP/HTTP base URL traces are sent to (`<url>/v1/traces`); null =
   * tracing off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set (docs/operations.md#traces). Default null.
   */
  readonly otlpEndpoint: string | null;
}

export interface LimitsPolicy {
  /** Largest request body buffered for replay; above → 413. Default 8 MiB. */
  readonly maxRequestBodyBytes: number;
  /** Deepest nesting of arrays and objects in an LLM call's JSON body; deeper → 413. Default 64. */
  readonly maxJsonDepth: number;
  /** Most object keys plus array items in an LLM call's JSON body; more → 413. Default 20 000. */
  readonly maxJsonMembers: number;
  /** Time for a request's headers to arrive; then 408. 0 = none. Default 10 s. */
  readonly headersTimeoutMs: number;
  /** Time for a whole request (headers and body) to arrive; then 408. 0 = none. Default 5 min. */
  readonly requestTimeoutMs: number;
  /** Longest silence while a request body is arriving; then 408. 0 = none. Default 30 s. */
  readonly bodyIdleTimeoutMs: number;
  /**
   * Largest upstream answer that is not a stream, held whole until it is complete (its first
   * token); above it the tier fails. Default 32 MiB (docs/policy.md#limits).
   */
  readonly maxResponseBodyBytes: number;
  /**
   * Longest SSE event or NDJSON line of an upstream stream, its line end(s) included; above it
   * the tier fails. Default 1 MiB.
   */
  readonly maxStreamLineBytes: number;
  /** LLM request bodies held at once by the process (at least `maxRequestBody`); past it → 503. Default 32 MiB. */
  readonly maxBufferedBytes: number;
}

/** `fleet:` — the sidecars of one group share trip knowledge, one prober and budgets (docs/fleet.md). */
export interface FleetPolicy {
  /** Redis URL (`redis://` or `rediss://`), e.g. the cache's. Required. */
  readonly redis: string;
  /** Pods that share knowledge, e.g. the Deployment's name. Required. */
  readonly group: string;
  /** This pod's id; null = `$POD_NAME`, then the hostname (filled in by `breakwater run`). */
  readonly podId: string | null;
  /** Distinct pods that must report an upstream failing before the others open it. Default 2. */
  readonly quorum: number;
  /** How long a failure report counts. Default 30 s. */
  readonly windowMs: number;
  /** How often a pod writes its view and re-reads the group's; unheard for 3 of them = gone. Default 1 s. */
  readonly heartbeatMs: number;
  /** Expiry of budget and probe leases a pod stops renewing (it died). Default 10 s. */
  readonly leaseTtlMs: number;
  /** Deadline of each Redis command; bounds what a budget lease adds to a call. Default 50 ms. */
  readonly commandTimeoutMs: number;
  /** Prefix of every fleet key and channel. Default `breakwater:fleet:`. */
  readonly keyPrefix: string;
}
