import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { checkControl, tokenMatches } from '../../src/admin/index.ts';

function req(headers: Record<string, string>): IncomingMessage {
  return { headers: { host: '10.0.0.5:15000', ...headers } } as unknown as IncomingMessage;
}

describe('tokenMatches', () => {
  it('accepts the exact bearer token when the scheme is any case', () => {
    expect(tokenMatches('Bearer abc', 'abc')).toBe(true);
    expect(tokenMatches('bearer abc', 'abc')).toBe(true);
  });

  it('refuses when the token differs or the scheme is missing', () => {
    expect(tokenMatches(undefined, 'abc')).toBe(false);
    expect(tokenMatches('abc', 'abc')).toBe(false);
    expect(tokenMatches('Bearer abcd', 'abc')).toBe(false);
    expect(tokenMatches('Basic abc', 'abc')).toBe(false);
  });
});

describe('checkControl', () => {
  it('requires the token when one is configured even on loopback', () => {
    expect(checkControl(req({}), 'abc', true)).toMatchObject({
      code: 'BW_ERR_ADMIN_UNAUTHORIZED',
      status: 401,
    });
    expect(checkControl(req({ authorization: 'Bearer abc' }), 'abc', true)).toBeNull();
  });

  it('refuses control on a non-loopback listener without a token', () => {
    expect(checkControl(req({}), null, false)).toMatchObject({
      code: 'BW_ERR_ADMIN_UNAUTHORIZED',
      status: 401,
    });
  });

  it('allows control on a loopback listener without a token', () => {
    expect(checkControl(req({}), null, true)).toBeNull();
  });

  it('refuses a browser request from another origin even with the token', () => {
    const r = req({ origin: 'http://attacker.example', authorization: 'Bearer abc' });
    expect(checkControl(r, 'abc', false)).toMatchObject({ status: 403 });
    expect(
      checkControl(req({ origin: 'http://10.0.0.5:15000', authorization: 'Bearer abc' }), 'abc', false),
    ).toBeNull();
  });
});
