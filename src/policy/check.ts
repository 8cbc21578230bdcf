import { name as nameKind } from './fields.ts';
import type { KeyPath } from './locate.ts';
import { formatListenAddress, isLoopbackHost, parseListenAddress } from './units.ts';

/** A problem before it has a file position: where (key or value) and what. */
export interface PathProblem {
  readonly path: KeyPath;
  readonly message: string;
  /** Point at the key (unknown or badly named keys) or at the value. */
  readonly target: 'key' | 'value';
}

/** Names the chain uses for its non-upstream tiers (`x-breakwater-tier`, metric labels). */
const RESERVED_NAMES = new Set(['cache', 'degraded']);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks that span several keys, on the raw document, so that they are reported together with the
 * schema's problems even when parts of the document are invalid: upstream names, route names,
 * chain references, the admin token, the Redis URL.
 */
export function checkReferences(raw: unknown): PathProblem[] {
  const problems: PathProblem[] = [];
  if (!isRecord(raw)) return problems;
  const upstreams = isRecord(raw.upstreams) ? Object.keys(raw.upstreams) : null;
  if (upstreams) {
    if (upstreams.length === 0) {
      problems.push({
        path: ['upstreams'],
        target: 'value',
        message: 'expected at least one upstream, got none',
      });
    }
    for (const upstream of upstreams) {
      const path = ['upstreams', upstream];
      if (!nameKind.parse(upstream).ok) {
        problems.push({
          path,
          target: 'key',
          message: `${nameKind.expected}, got ${JSON.stringify(upstream)}`,
        });
      } else if (RESERVED_NAMES.has(upstream)) {
        const message = `expected a name other than cache or degraded (names of tiers), got "${upstream}"`;
        problems.push({ path, target: 'key', message });
      }
    }
  }
  if (Array.isArray(raw.routes)) checkRoutes(raw.routes, upstreams, problems);
  checkAdminToken(raw, problems);
  const cache = isRecord(raw.cache) ? raw.cache : null;
  if (cache?.backend === 'redis' && (cache.url === undefined || cache.url === null)) {
    const message = 'expected a redis:// URL because cache.backend is redis, got nothing';
    problems.push({ path: ['cache', 'url'], target: 'value', message });
  }
  return problems;
}

function checkRoutes(routes: unknown[], upstreams: string[] | null, problems: PathProblem[]): void {
  const seen = new Map<string, number>();
  routes.forEach((route, i) => {
    if (!isRecord(route)) return;
    if (typeof route.name === 'string') {
      const first = seen.get(route.name);
      if (first === undefined) seen.set(route.name, i);
      else {
        const message = `expected a unique route name, got "${route.name}" again (first at routes[${first}])`;
        problems.push({ path: ['routes', i, 'name'], target: 'value', message });
      }
    }
    if (!upstreams || !Array.isArray(route.chain)) return;
    route.chain.forEach((tier, j) => {
      if (!isRecord(tier) || typeof tier.upstream !== 'string' || upstreams.includes(tier.upstream)) return;
      const message = `expected the name of an upstream (${upstreams.join(', ')}), got "${tier.upstream}"`;
      problems.push({ path: ['routes', i, 'chain', j, 'upstream'], target: 'value', message });
    });
  });
}

function checkAdminToken(raw: Record<string, unknown>, problems: PathProblem[]): void {
  const listen = isRecord(raw.listen) ? raw.listen : {};
  const admin = typeof listen.admin === 'string' ? parseListenAddress(listen.admin) : null;
  if (!admin || isLoopbackHost(admin.host)) return;
  const token = isRecord(raw.admin) ? raw.admin.token : undefined;
  if (typeof token === 'string' && token !== '') return;
  const message = `expected a token because listen.admin (${formatListenAddress(admin)}) is not loopback, got nothing`;
  problems.push({ path: ['admin', 'token'], target: 'value', message });
}
