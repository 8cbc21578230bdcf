import { z } from 'zod';
import {
  address,
  addressList,
  atLeast,
  atLeastMs,
  bool,
  duration,
  fraction,
  hosts,
  int,
  name,
  nullable,
  oneOf,
  optional,
  path,
  podId,
  required,
  secret,
  size,
  statusList,
  stringMap,
  text,
  withDefault,
} from './fields.ts';
import { CACHE_KEY_HEADERS, headerMap, headerNames, httpUrl, otlpUrl, redisUrl } from './http-fields.ts';
import { unknownKeyMessage } from './problems.ts';
import { ReadinessMode, type TierPolicy } from './types.ts';

/**
 * A mapping that rejects unknown keys. The message of an `unrecognized_keys` issue holds one line
 * per key, in the order of `issue.keys`, each with a suggestion of the closest known key.
 */
function strict<S extends z.core.$ZodLooseShape>(shape: S, expected = 'expected a mapping') {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys')
        return issue.keys.map((k) => unknownKeyMessage(k, known)).join('\n');
      if (issue.code === 'invalid_type') return expected;
      return undefined;
    },
  });
}

/** A mapping whose keys all have defaults: absent or empty (`key:`) means all defaults. */
function section<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.preprocess((v) => v ?? {}, strict(shape));
}

/** An optional block (`healthCheck`, `failureRate`): absent or null → null; `{}` → all defaults. */
function block<S extends z.core.$ZodLooseShape>(shape: S) {
  return strict(shape)
    .nullish()
    .transform((v) => v ?? null);
}

function breaker(defaults: { failureThreshold: number; recoveryTimeout: string }) {
  return section({
    failureThreshold: withDefault(int(1), defaults.failureThreshold),
    recoveryTimeout: withDefault(duration, defaults.recoveryTimeout),
    successThreshold: withDefault(int(1), 2),
    halfOpenMaxRequests: withDefault(int(1), 1),
    backoffMultiplier: withDefault(atLeast(1), 2),
    maxRecoveryTimeout: withDefault(duration, '5m'),
    jitter: withDefault(fraction(false), 0.1),
    failureRate: block({
      threshold: withDefault(fraction(true), '50%'),
      window: withDefault(duration, '60s'),
      minimumRequests: withDefault(int(1), 10),
    }),
  });
}

const upstream = strict({
  url: required(httpUrl),
  timeout: section({
    connect: withDefault(duration, '1s'),
    firstByte: withDefault(duration, '5s'),
    idle: withDefault(duration, '30s'),
    total: withDefault(nullable(duration), null),
  }),
  breaker: breaker({ failureThreshold: 3, recoveryTimeout: '30s' }),
  maxConcurrent: withDefault(int(1), 64),
  fleetMaxConcurrent: withDefault(nullable(int(1)), null),
  failOn: withDefault(statusList, [500, 502, 503, 504]),
  headers: withDefault(headerMap, {}),
  healthCheck: block({
    path: withDefault(path, '/health'),
    interval: withDefault(duration, '5s'),
    timeout: withDefault(duration, '2s'),
    whileClosed: withDefault(bool, false),
    expectModel: withDefault(nullable(text), null),
  }),
});

const TIER_KEYS = ['upstream', 'cache', 'degraded'] as const;

/** A chain item: exactly one of `upstream` (+ `models`, `continueOnNextTier`), `cache`, `degraded`. */
const tier = strict({
  upstream: optional(name),
  models: optional(stringMap('expected a mapping of client model → tier model ("*" for any)')),
  continueOnNextTier: optional(bool),
  cache: z
    .preprocess((v) => (v === null ? {} : v), strict({ maxStale: withDefault(nullable(duration), null) }))
    .optional(),
  degraded: z
    .preprocess(
      (v) => (v === null ? {} : v),
      strict({
        message: withDefault(text, 'Service temporarily unavailable'),
        status: withDefault(int(200, 599), 200),
      }),
    )
    .optional(),
}).transform((t, ctx): TierPolicy => {
  const present = TIER_KEYS.filter((k) => t[k] !== undefined);
  if (present.length !== 1) {
    const got = present.length === 0 ? 'none' : present.join(' and ');
    ctx.addIssue({
      code: 'custom',
      message: `expected exactly one of upstream, cache, degraded, got ${got}`,
    });
    return z.NEVER;
  }
  if (t.upstream !== undefined) {
    return {
      kind: 'upstream',
      upstream: t.upstream,
      models: t.models ?? {},
      continueOnNextTier: t.continueOnNextTier ?? false,
    };
  }
  for (const k of ['models', 'continueOnNextTier'] as const) {
    if (t[k] !== undefined)
      ctx.addIssue({ code: 'custom', message: 'only allowed with upstream', path: [k] });
  }
  if (t.cache) return { kind: 'cache', maxStaleMs: t.cache.maxStale };
  if (t.degraded) return { kind: 'degraded', message: t.degraded.message, status: t.degraded.status };
  return z.NEVER;
});

const route = strict({
  name: required(name),
  match: section({
    pathPrefix: withDefault(path, '/'),
    host: withDefault(hosts, null),
  }),
  chain: z.array(tier, { error: 'expected a list of tiers' }).min(1, { error: 'expected at least one tier' }),
});

/**
 * The whole policy file. Output values are final (ms, bytes, parsed addresses and URLs) but keys are
 * still the YAML keys; `compile` turns the output into a `Policy`.
 */
export const policySchema = strict(
  {
    listen: section({
      proxy: withDefault(addressList, '127.0.0.1:15001'),
      admin: withDefault(address, '127.0.0.1:15000'),
      health: withDefault(address, '0.0.0.0:15021'),
    }),
    admin: section({ token: withDefault(secret, null), allowedHosts: withDefault(hosts, null) }),
    upstreams: z.record(z.string(), upstream, { error: 'expected a mapping of upstream name → upstream' }),
    cache: section({
      backend: withDefault(oneOf(['memory', 'redis']), 'memory'),
      url: withDefault(nullable(redisUrl), null),
      ttl: withDefault(duration, '1h'),
      maxEntries: withDefault(int(1), 10_000),
      maxBytes: withDefault(size, '64MiB'),
      maxEntryBytes: withDefault(size, '1MiB'),
      keyPrefix: withDefault(text, 'breakwater:'),
      keyHeaders: withDefault(headerNames, CACHE_KEY_HEADERS),
      commandTimeout: withDefault(duration, '50ms'),
      breaker: breaker({ failureThreshold: 3, recoveryTimeout: '5s' }),
    }),
    routes: z
      .array(route, { error: 'expected a list of routes' })
      .min(1, { error: 'expected at least one route' })
      .nullish(),
    readiness: withDefault(oneOf(Object.values(ReadinessMode)), ReadinessMode.ANY_UPSTREAM),
    shutdown: section({
      drainDelay: withDefault(duration, '5s'),
      quietPeriod: withDefault(duration, '1s'),
      timeout: withDefault(duration, '25s'),
    }),
    limits: section({
      maxRequestBody: withDefault(size, '8MiB'),
      maxJsonDepth: withDefault(int(1, 1000), 64),
      maxJsonMembers: withDefault(int(1), 20_000),
      headersTimeout: withDefault(duration, '10s'),
      requestTimeout: withDefault(duration, '5m'),
      bodyIdleTimeout: withDefault(duration, '30s'),
      maxResponseBody: withDefault(size, '32MiB'),
      maxStreamLine: withDefault(size, '1MiB'),
      maxBufferedBytes: withDefault(size, '32MiB'),
    }),
    resolver: withDefault(oneOf(['system', 'dns']), 'system'),
    telemetry: section({ otlp: section({ endpoint: withDefault(nullable(otlpUrl), null) }) }),
    fleet: block({
      redis: required(redisUrl),
      group: required(name),
      podId: withDefault(nullable(podId), null),
      quorum: withDefault(int(1), 2),
      window: withDefault(atLeastMs(100), '30s'),
      heartbeat: withDefault(atLeastMs(100), '1s'),
      leaseTtl: withDefault(atLeastMs(300), '10s'),
      commandTimeout: withDefault(atLeastMs(1), '50ms'),
      keyPrefix: withDefault(text, 'breakwater:fleet:'),
    }),
  },
  'expected a policy mapping (with at least "upstreams")',
);

/** The validated document, before compilation. */
export type PolicyDocument = z.output<typeof policySchema>;
