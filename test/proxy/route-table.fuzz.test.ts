import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/index.ts';
import { RouteTable, normalizeAuthority } from '../../src/proxy/index.ts';
import { hostArb, pathArb } from '../helpers/request-arbitraries.ts';

const policy = parsePolicy(
  `
upstreams:
  max-gpu: { url: "http://max-serve:8000" }
  ollama-cpu: { url: "http://ollama:11434" }
  v6: { url: "http://[fd00::7]:8080" }
routes:
  - name: native
    match: { pathPrefix: /api/ }
    chain: [ { upstream: ollama-cpu }, { degraded: {} } ]
  - name: chat
    match: { pathPrefix: /v1/ }
    chain: [ { upstream: max-gpu }, { upstream: ollama-cpu }, { upstream: v6 }, { cache: {} } ]
  - name: partner
    match: { pathPrefix: /, host: [ "llm.partner.example", "other.example:8443" ] }
    chain: [ { upstream: max-gpu } ]
  - name: partner-v1
    match: { pathPrefix: /v1/, host: [ "llm.partner.example" ] }
    chain: [ { upstream: ollama-cpu }, { upstream: max-gpu } ]
`,
  { file: null, env: {} },
);
const table = new RouteTable(policy);

/** What breakwater may carry absolute-form and CONNECT requests to (README "How requests are handled"). */
const UPSTREAM_AUTHORITIES = ['max-serve:8000', 'ollama:11434', '[fd00::7]:8080'];
const ROUTE_HOSTS = ['llm.partner.example'];
const ROUTE_AUTHORITIES = ['other.example:8443'];

/** True when `authority` (normalized) names an upstream, or a route host on a valid port. */
function namesKnownTarget(authority: string): boolean {
  if (UPSTREAM_AUTHORITIES.includes(authority) || ROUTE_AUTHORITIES.includes(authority)) return true;
  return ROUTE_HOSTS.some(
    (h) => authority.startsWith(`${h}:`) && /^\d{1,5}$/.test(authority.slice(h.length + 1)),
  );
}

const authorityArb = fc.oneof(
  hostArb,
  fc.constantFrom(...UPSTREAM_AUTHORITIES, ...ROUTE_HOSTS, ...ROUTE_AUTHORITIES),
  fc
    .tuple(
      fc.constantFrom(...UPSTREAM_AUTHORITIES, ...ROUTE_HOSTS),
      fc.constantFrom(':80', ':25000', ':x', '@evil', ':'),
    )
    .map(([a, tail]) => a + tail),
);

describe('normalizeAuthority (property)', () => {
  it('never throws, lower-cases, and is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(authorityArb, fc.string({ unit: 'binary', maxLength: 40 })), (a) => {
        const n = normalizeAuthority(a);
        expect(n).toBe(n.toLowerCase());
        expect(normalizeAuthority(n)).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('RouteTable (property)', () => {
  it('never throws and answers null or a route of the policy whose prefix the path has', () => {
    fc.assert(
      fc.property(fc.option(authorityArb.map((a) => normalizeAuthority(a))), pathArb, (authority, path) => {
        const m = table.match(authority, path);
        if (m === null) {
          // Only `/api/` and `/v1/` prefixes exist without a host, so other paths may find nothing.
          expect(path.startsWith('/api/') || path.startsWith('/v1/')).toBe(false);
          return;
        }
        expect(policy.routes).toContain(m.route);
        expect(path.startsWith(m.route.match.pathPrefix)).toBe(true);
        expect(m.startIndex).toBeGreaterThanOrEqual(0);
        expect(m.startIndex).toBeLessThan(m.route.chain.length);
        if (m.startIndex > 0) expect(m.route.chain[m.startIndex]!.kind).toBe('upstream');
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the longest matching prefix among the routes that name the host, then among the others', () => {
    fc.assert(
      fc.property(fc.option(authorityArb.map((a) => normalizeAuthority(a))), pathArb, (authority, path) => {
        const m = table.match(authority, path);
        if (m === null) return;
        const longer = policy.routes.filter(
          (r) =>
            r.match.pathPrefix.length > m.route.match.pathPrefix.length &&
            path.startsWith(r.match.pathPrefix) &&
            (r.match.hosts === null) === (m.route.match.hosts === null),
        );
        const sameHost = longer.filter(
          (r) =>
            r.match.hosts === null ||
            (authority !== null && r.match.hosts.some((h) => authority.startsWith(`${h}:`))),
        );
        expect(sameHost).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });

  it('starts the chain at the tier of the upstream a request was addressed to', () => {
    fc.assert(
      fc.property(fc.constantFrom(...UPSTREAM_AUTHORITIES), pathArb, (authority, path) => {
        const m = table.match(authority, path);
        if (m === null) return;
        const tier = m.route.chain[m.startIndex]!;
        const addressed = policy.upstreams.find((u) => normalizeAuthority(u.authority) === authority)!;
        const inChain = m.route.chain.some((t) => t.kind === 'upstream' && t.upstream === addressed.name);
        if (inChain) expect(tier).toMatchObject({ kind: 'upstream', upstream: addressed.name });
        else expect(m.startIndex).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('carries absolute-form and CONNECT targets only to upstreams and route hosts (never an open proxy)', () => {
    fc.assert(
      fc.property(authorityArb, (raw) => {
        const authority = normalizeAuthority(raw);
        if (table.isKnownAuthority(authority)) expect(namesKnownTarget(authority), authority).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
