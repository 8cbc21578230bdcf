import type { Policy, RoutePolicy } from '../policy/index.ts';

/** A matched route and where its chain starts. */
export interface RouteMatchResult {
  readonly route: RoutePolicy;
  /** Index of the first tier to try (a request addressed to one upstream starts at its tier). */
  readonly startIndex: number;
  /** Index of the route's cache tier, or -1 when it has none. */
  readonly cacheIndex: number;
}

interface CompiledRoute {
  readonly route: RoutePolicy;
  readonly hosts: ReadonlySet<string> | null;
  readonly prefix: string;
  /** upstream authority (`host:port`) → chain index of that upstream's tier. */
  readonly startByAuthority: ReadonlyMap<string, number>;
  readonly cacheIndex: number;
  /** The match of a request addressed to no upstream, built once. */
  readonly fromStart: RouteMatchResult;
}

const defaultPort = (scheme: string): number => (scheme === 'https' ? 443 : 80);

/** `host[:port]` → `host:port`, lower-cased; ports default to 80. */
export function normalizeAuthority(authority: string, scheme = 'http'): string {
  const a = authority.toLowerCase();
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    return a.length > end + 1 ? a : `${a}:${defaultPort(scheme)}`;
  }
  return a.includes(':') ? a : `${a}:${defaultPort(scheme)}`;
}

const PORT_SUFFIX_RE = /^:\d{1,5}$/;

/**
 * `host:port` → `host`, `[v6]:port` → `[v6]`; null when what follows the host is not one port
 * (`max-serve:8000:80`, `host:x`, `host:`), so such a target never passes for a known host.
 */
function hostOnly(authority: string): string | null {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    const rest = authority.slice(end + 1);
    return end !== -1 && (rest === '' || PORT_SUFFIX_RE.test(rest)) ? authority.slice(0, end + 1) : null;
  }
  const i = authority.lastIndexOf(':');
  if (i === -1) return authority;
  const host = authority.slice(0, i);
  return !host.includes(':') && PORT_SUFFIX_RE.test(authority.slice(i)) ? host : null;
}

/**
 * Routes compiled once per policy: match by host (exact `host:port`, or `host` on any port), then
 * the longest path prefix. Also the set of hosts breakwater will carry absolute-form and CONNECT
 * requests to: upstream authorities and route hosts — never anything else (not an open proxy).
 */
export class RouteTable {
  readonly #routes: readonly CompiledRoute[];
  readonly #known: ReadonlySet<string>;

  constructor(policy: Policy) {
    const authorityOf = new Map(policy.upstreams.map((u) => [u.name, normalizeAuthority(u.authority)]));
    const known = new Set<string>(authorityOf.values());
    const routes: CompiledRoute[] = [];
    for (const route of policy.routes) {
      const hosts =
        route.match.hosts === null ? null : new Set(route.match.hosts.map((h) => h.toLowerCase()));
      if (hosts) for (const h of hosts) known.add(h);
      const startByAuthority = new Map<string, number>();
      route.chain.forEach((tier, i) => {
        if (tier.kind !== 'upstream') return;
        const a = authorityOf.get(tier.upstream)!;
        if (!startByAuthority.has(a)) startByAuthority.set(a, i);
      });
      const cacheIndex = route.chain.findIndex((t) => t.kind === 'cache');
      const fromStart = Object.freeze({ route, startIndex: 0, cacheIndex });
      routes.push({ route, hosts, prefix: route.match.pathPrefix, startByAuthority, cacheIndex, fromStart });
    }
    routes.sort((a, b) => b.prefix.length - a.prefix.length);
    this.#routes = routes;
    this.#known = known;
  }

  /** True when `authority` (normalized `host:port`) is an upstream or a route host. */
  isKnownAuthority(authority: string): boolean {
    const host = hostOnly(authority);
    return this.#known.has(authority) || (host !== null && this.#known.has(host));
  }

  /**
   * The route for a request. `authority` is the normalized target (`host:port`) or null when the
   * request named none; `path` is without query.
   */
  match(authority: string | null, path: string): RouteMatchResult | null {
    const host = authority === null ? null : hostOnly(authority);
    let best: CompiledRoute | null = null;
    // Routes naming the target host win; among them, and then among host-agnostic ones, the
    // longest prefix (the list is sorted by prefix length, longest first).
    if (authority !== null) {
      for (const r of this.#routes) {
        if (
          r.hosts !== null &&
          (r.hosts.has(authority) || (host !== null && r.hosts.has(host))) &&
          path.startsWith(r.prefix)
        ) {
          best = r;
          break;
        }
      }
    }
    if (best === null) {
      for (const r of this.#routes) {
        if (r.hosts === null && path.startsWith(r.prefix)) {
          best = r;
          break;
        }
      }
    }
    if (best === null) return null;
    const start = authority === null ? undefined : best.startByAuthority.get(authority);
    return start === undefined
      ? best.fromStart
      : { route: best.route, startIndex: start, cacheIndex: best.cacheIndex };
  }
}
