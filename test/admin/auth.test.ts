import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Access, AdminGuard, tokenMatches } from '../../src/admin/index.ts';
import type { AdminPolicy } from '../../src/policy/index.ts';

/** A request as the guard reads it: `headers` plus `headersDistinct` for Host. */
function req(headers: Record<string, string>, hosts: string[] | null = ['10.0.0.5:15000']): IncomingMessage {
  const all = hosts === null ? headers : { host: hosts[0]!, ...headers };
  return {
    headers: all,
    headersDistinct: hosts === null ? {} : { host: hosts },
  } as unknown as IncomingMessage;
}

const admin = (token: string | null, allowedHosts: string[] | null = null): AdminPolicy => ({
  token,
  allowedHosts,
});
const loopback = new AdminGuard({ host: '127.0.0.1', port: 15000 });
const wildcard = new AdminGuard({ host: '0.0.0.0', port: 15000 });
const podIp = new AdminGuard({ host: '10.0.0.5', port: 15000 });

describe('tokenMatches', () => {
  it('accepts the exact bearer token when the scheme is any case', () => {
    expect(tokenMatches('Bearer abc', 'abc')).toBe(true);
    expect(tokenMatches('bearer abc', 'abc')).toBe(true);
    expect(tokenMatches('BEARER   abc  ', 'abc')).toBe(true);
  });

  it('refuses when the token differs or the scheme is missing', () => {
    expect(tokenMatches(undefined, 'abc')).toBe(false);
    expect(tokenMatches('abc', 'abc')).toBe(false);
    expect(tokenMatches('Bearer abcd', 'abc')).toBe(false);
    expect(tokenMatches('Bearer ab', 'abc')).toBe(false);
    expect(tokenMatches('Bearer ', 'abc')).toBe(false);
    expect(tokenMatches('Basic abc', 'abc')).toBe(false);
    expect(tokenMatches('Bearerabc', 'abc')).toBe(false);
  });
});

describe('AdminGuard.checkAccess', () => {
  it('requires a configured token for control calls even on loopback, not for reads', () => {
    expect(loopback.checkAccess(req({}), admin('abc'), Access.CONTROL)).toMatchObject({
      code: 'BW_ERR_ADMIN_UNAUTHORIZED',
      status: 401,
    });
    expect(
      loopback.checkAccess(req({ authorization: 'Bearer abc' }), admin('abc'), Access.CONTROL),
    ).toBeNull();
    expect(loopback.checkAccess(req({}), admin('abc'), Access.READ)).toBeNull();
  });

  it('allows everything on a loopback listener without a token', () => {
    for (const access of Object.values(Access))
      expect(loopback.checkAccess(req({}), admin(null), access)).toBeNull();
  });

  it('requires the token for reads and control on a non-loopback listener, not for the page', () => {
    for (const guard of [wildcard, podIp]) {
      expect(guard.checkAccess(req({}), admin('abc'), Access.READ)).toMatchObject({ status: 401 });
      expect(guard.checkAccess(req({}), admin('abc'), Access.CONTROL)).toMatchObject({ status: 401 });
      expect(guard.checkAccess(req({ authorization: 'Bearer abc' }), admin('abc'), Access.READ)).toBeNull();
      expect(guard.checkAccess(req({}), admin('abc'), Access.PAGE)).toBeNull();
    }
  });

  it('refuses reads and control on a non-loopback listener whose policy lost its token', () => {
    expect(podIp.checkAccess(req({ authorization: 'Bearer x' }), admin(null), Access.READ)).toMatchObject({
      code: 'BW_ERR_ADMIN_UNAUTHORIZED',
      message: 'admin API on a non-loopback address needs admin.token',
    });
  });

  it('refuses a control call from another origin or site even with the token', () => {
    const auth = { authorization: 'Bearer abc' };
    for (const extra of [
      { origin: 'http://attacker.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ]) {
      expect(podIp.checkAccess(req({ ...auth, ...extra }), admin('abc'), Access.CONTROL)).toMatchObject({
        code: 'BW_ERR_ADMIN_FORBIDDEN',
        status: 403,
      });
    }
    const same = req({ ...auth, origin: 'http://10.0.0.5:15000', 'sec-fetch-site': 'same-origin' });
    expect(podIp.checkAccess(same, admin('abc'), Access.CONTROL)).toBeNull();
  });

  it('refuses a control call with a body type a form can send, and takes JSON or none', () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=b',
    ]) {
      expect(loopback.checkAccess(req({ 'content-type': type }), admin(null), Access.CONTROL)).toMatchObject({
        status: 415,
      });
    }
    expect(
      loopback.checkAccess(
        req({ 'content-type': 'Application/JSON; charset=utf-8' }),
        admin(null),
        Access.CONTROL,
      ),
    ).toBeNull();
    expect(loopback.checkAccess(req({}), admin(null), Access.CONTROL)).toBeNull();
  });
});

describe('AdminGuard.checkHost', () => {
  it('answers 400 for a missing or duplicate Host and 403 for a foreign one', () => {
    expect(loopback.checkHost(req({}, null), admin(null))).toMatchObject({ status: 400 });
    expect(loopback.checkHost(req({}, ['localhost', 'evil.example']), admin(null))).toMatchObject({
      status: 400,
    });
    expect(loopback.checkHost(req({}, ['evil.example:15000']), admin(null))).toMatchObject({
      code: 'BW_ERR_ADMIN_FORBIDDEN',
      status: 403,
    });
    expect(loopback.checkHost(req({}, ['localhost:15000']), admin(null))).toBeNull();
  });

  it('accepts the bound address of a listener on one IP, and loopback names, but no other literal', () => {
    expect(podIp.checkHost(req({}, ['10.0.0.5:15000']), admin('t'))).toBeNull();
    expect(podIp.checkHost(req({}, ['127.0.0.1:15000']), admin('t'))).toBeNull();
    expect(podIp.checkHost(req({}, ['10.0.0.6:15000']), admin('t'))).toMatchObject({ status: 403 });
    expect(wildcard.checkHost(req({}, ['10.0.0.6:15000']), admin('t'))).toBeNull();
  });
});
