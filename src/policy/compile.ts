import { FrozenSet } from './freeze.ts';
import type { PolicyDocument } from './schema.ts';
import type {
  BreakerPolicy,
  CachePolicy,
  LimitsPolicy,
  FleetPolicy,
  Policy,
  PolicySource,
  RoutePolicy,
  TierPolicy,
  UpstreamPolicy,
} from './types.ts';

type DocBreaker = PolicyDocument['cache']['breaker'];
type DocUpstream = PolicyDocument['upstreams'][string];

function compileBreaker(b: DocBreaker): BreakerPolicy {
  return {
    failureThreshold: b.failureThreshold,
    recoveryTimeoutMs: b.recoveryTimeout,
    successThreshold: b.successThreshold,
    halfOpenMaxRequests: b.halfOpenMaxRequests,
    backoffMultiplier: b.backoffMultiplier,
    // The cap never undercuts the base timeout (a raised recoveryTimeout with the default cap).
    maxRecoveryTimeoutMs: Math.max(b.maxRecoveryTimeout, b.recoveryTimeout),
    jitter: b.jitter,
    failureRate: b.failureRate && {
      threshold: b.failureRate.threshold,
      windowMs: b.failureRate.window,
      minimumRequests: b.failureRate.minimumRequests,
    },
  };
}

function compileUpstream(name: string, u: DocUpstream): UpstreamPolicy {
  const headers = { ...u.headers };
  // `http://user:pass@host` works as with curl: Basic auth, unless the tier sets authorization itself.
  if (u.url.userinfo !== null && headers.authorization === undefined) {
    headers.authorization = `Basic ${Buffer.from(u.url.userinfo, 'utf8').toString('base64')}`;
  }
  return {
    name,
    origin: u.url.origin,
    basePath: u.url.basePath,
    authority: u.url.authority,
    hostname: u.url.hostname,
    port: u.url.port,
    timeouts: {
      connectMs: u.timeout.connect,
      firstByteMs: u.timeout.firstByte,
      idleMs: u.timeout.idle,
      totalMs: u.timeout.total,
    },
    breaker: compileBreaker(u.breaker),
    maxConcurrent: u.maxConcurrent,
    fleetMaxConcurrent: u.fleetMaxConcurrent,
    failOn: new FrozenSet(u.failOn),
    headers,
    healthCheck: u.healthCheck && {
      path: u.healthCheck.path,
      intervalMs: u.healthCheck.interval,
      timeoutMs: u.healthCheck.timeout,
      whileClosed: u.healthCheck.whileClosed,
      expectModel: u.healthCheck.expectModel,
    },
  };
}

function compileCache(c: PolicyDocument['cache']): CachePolicy {
  return {
    backend: c.backend,
    url: c.url,
    ttlMs: c.ttl,
    maxEntries: c.maxEntries,
    maxBytes: c.maxBytes,
    // An entry larger than the whole store could never be kept.
    maxEntryBytes: Math.min(c.maxEntryBytes, c.maxBytes),
    keyPrefix: c.keyPrefix,
    keyHeaders: c.keyHeaders,
    commandTimeoutMs: c.commandTimeout,
    breaker: compileBreaker(c.breaker),
  };
}

function compileLimits(l: PolicyDocument['limits']): LimitsPolicy {
  return {
    maxRequestBodyBytes: l.maxRequestBody,
    maxJsonDepth: l.maxJsonDepth,
    maxJsonMembers: l.maxJsonMembers,
    maxResponseBodyBytes: l.maxResponseBody,
    maxStreamLineBytes: l.maxStreamLine,
    // One body of the largest size allowed must always fit.
    maxBufferedBytes: Math.max(l.maxBufferedBytes, l.maxRequestBody),
    // Node refuses a headers timeout above the request timeout: the whole request bounds its headers.
    headersTimeoutMs:
      l.requestTimeout > 0 && l.headersTimeout > l.requestTimeout ? l.requestTimeout : l.headersTimeout,
    requestTimeoutMs: l.requestTimeout,
    // A socket timeout above 2^31-1 ms would fire at once (Node's TimeoutOverflowWarning).
    bodyIdleTimeoutMs: Math.min(l.bodyIdleTimeout, 2 ** 31 - 1),
  };
}

/** The route used when the file has no `routes`: every path, every upstream in file order, cache, degraded. */
export function defaultRoute(upstreamNames: readonly string[]): RoutePolicy {
  const chain: TierPolicy[] = upstreamNames.map((upstream) => ({
    kind: 'upstream',
    upstream,
    models: {},
    continueOnNextTier: false,
  }));
  chain.push({ kind: 'cache', maxStaleMs: null });
  chain.push({ kind: 'degraded', message: 'Service temporarily unavailable', status: 200 });
  return { name: 'default', match: { hosts: null, pathPrefix: '/' }, chain };
}

/** Turns a validated document into a Policy (not yet frozen, `redacted` still to be filled). */
export function compile(doc: PolicyDocument, source: PolicySource): Omit<Policy, 'redacted'> {
  const upstreams = Object.entries(doc.upstreams).map(([name, u]) => compileUpstream(name, u));
  const routes: RoutePolicy[] = doc.routes
    ? doc.routes.map((r) => ({
        name: r.name,
        match: { hosts: r.match.host, pathPrefix: r.match.pathPrefix },
        chain: r.chain,
      }))
    : [defaultRoute(upstreams.map((u) => u.name))];
  return {
    source,
    listen: doc.listen,
    admin: { token: doc.admin.token, allowedHosts: doc.admin.allowedHosts },
    upstreams,
    cache: compileCache(doc.cache),
    routes,
    readiness: doc.readiness,
    shutdown: {
      // Draining cannot outlast the hard shutdown deadline.
      drainDelayMs: Math.min(doc.shutdown.drainDelay, doc.shutdown.timeout),
      quietPeriodMs: doc.shutdown.quietPeriod,
      timeoutMs: doc.shutdown.timeout,
    },
    limits: compileLimits(doc.limits),
    resolver: doc.resolver,
    telemetry: { otlpEndpoint: doc.telemetry.otlp.endpoint },
    fleet: doc.fleet && compileFleet(doc.fleet),
  };
}

function compileFleet(f: NonNullable<PolicyDocument['fleet']>): FleetPolicy {
  return {
    redis: f.redis,
    group: f.group,
    podId: f.podId,
    quorum: f.quorum,
    windowMs: f.window,
    heartbeatMs: f.heartbeat,
    // A lease must outlive several renewals (every third of it) and every heartbeat.
    leaseTtlMs: Math.max(f.leaseTtl, 3 * f.heartbeat),
    commandTimeoutMs: f.commandTimeout,
    keyPrefix: f.keyPrefix,
  };
}
