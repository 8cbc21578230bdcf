import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Access,
  AdminEndpoint,
  HostNames,
  MAX_BREAKER_NAME_CHARS,
  breakerName,
  parseHost,
  resolveRoute,
} from '../../src/admin/index.ts';
import { hostArb, methodArb, pathArb } from '../helpers/request-arbitraries.ts';

const ENDPOINTS = new Set<string>(Object.values(AdminEndpoint));
const ADMIN_PATHS = [
  '/',
  '/index.html',
  '/metrics',
  '/config',
  '/tier-usage',
  '/circuit-breakers',
  '/circuit-breakers/reset',
  '/circuit-breakers/max-gpu',
  '/circuit-breakers/max-gpu/reset',
  '/circuit-breakers/max-gpu/open',
];
const adminPathArb = fc.oneof(
  fc.constantFrom(...ADMIN_PATHS),
  pathArb,
  fc.tuple(fc.constantFrom(...ADMIN_PATHS), pathArb).map(([a, b]) => a + b),
);
const validName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9._-]{0,62}$/);

describe('admin resolveRoute (property)', () => {
  it('never throws and answers an endpoint, 404 or 405 with Allow; only POST controls', () => {
    fc.assert(
      fc.property(methodArb, adminPathArb, (method, path) => {
        const r = resolveRoute(method, path);
        if ('error' in r) {
          expect([404, 405]).toContain(r.error.status);
          if (r.error.status === 405) expect(r.allow).toMatch(/^(GET, HEAD|POST|GET, HEAD, POST)$/);
          return;
        }
        expect(ENDPOINTS.has(r.endpoint)).toBe(true);
        expect(r.access === Access.CONTROL).toBe(method === 'POST');
        if (method !== 'POST') expect(['GET', 'HEAD']).toContain(method);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('admin breakerName (property)', () => {
  it('answers a name of the upstream character set, or a 400 BW_ERR_REQUEST_INVALID', () => {
    const segment = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      validName.map(encodeURIComponent),
      fc.stringMatching(/^(%[0-9A-Fa-f]{0,2}|[A-Za-z0-9._~-]){0,70}$/),
    );
    fc.assert(
      fc.property(segment, (s) => {
        let name: string;
        try {
          name = breakerName(s);
        } catch (err) {
          expect(err).toMatchObject({ code: 'BW_ERR_REQUEST_INVALID', status: 400 });
          return;
        }
        expect(name).toMatch(/^[A-Za-z][A-Za-z0-9._-]*$/);
        expect(name.length).toBeLessThanOrEqual(MAX_BREAKER_NAME_CHARS);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives back any valid name from its percent-encoded form', () => {
    const encodeAll = (n: string): string =>
      [...n].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');
    fc.assert(
      fc.property(validName, (n) => {
        expect(breakerName(n)).toBe(n);
        expect(breakerName(encodeURIComponent(n))).toBe(n);
        expect(breakerName(encodeAll(n))).toBe(n);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('admin Host check (property)', () => {
  const loopback = new HostNames({ host: '127.0.0.1', port: 15000 });
  const wildcard = new HostNames({ host: '0.0.0.0', port: 15000 });

  it('parses any Host value without throwing, and gives back what it read', () => {
    fc.assert(
      fc.property(fc.oneof(hostArb, fc.string({ unit: 'binary', maxLength: 300 })), (value) => {
        const h = parseHost(value);
        if (h === null) return;
        expect(h.authorityName + (h.port === null ? '' : `:${h.port}`)).toBe(value.toLowerCase());
        expect(h.port === null || (h.port >= 0 && h.port <= 65_535)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses every DNS name but localhost on any listener without admin.allowedHosts (DNS rebinding)', () => {
    const port = fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: null });
    fc.assert(
      fc.property(
        fc.domain().filter((d) => d !== 'localhost' && isIP(d) === 0),
        port,
        (domain, p) => {
          const h = parseHost(p === null ? domain : `${domain}:${p}`);
          expect(h).not.toBeNull();
          expect(loopback.accepts(h!, null)).toBe(false);
          expect(wildcard.accepts(h!, null)).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('accepts any IP literal on a wildcard listener, and only loopback ones on a loopback listener', () => {
    const literal = fc.oneof(
      fc.ipV4(),
      fc.ipV6().map((ip) => `[${ip}]`),
    );
    fc.assert(
      fc.property(literal, (ip) => {
        const h = parseHost(`${ip}:15000`)!;
        expect(wildcard.accepts(h, null)).toBe(true);
        const isLoopback = h.name.startsWith('127.') || h.name === '::1' || /^::ffff:127\./.test(h.name);
        if (!isLoopback) expect(loopback.accepts(h, null)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
