import { describe, expect, it } from 'vitest';
import { parseAuthority } from '../../src/proxy/authority.ts';

describe('parseAuthority', () => {
  it.each([
    ['max-serve:8000', 'max-serve:8000'],
    ['Max-Serve:8000', 'max-serve:8000'],
    ['ollama', 'ollama:80'],
    ['127.0.0.1:15001', '127.0.0.1:15001'],
    ['[::1]:15001', '[::1]:15001'],
    ['[::FFFF:127.0.0.1]', '[::ffff:127.0.0.1]:80'],
    ['my_host.svc.cluster.local:08000', 'my_host.svc.cluster.local:8000'],
    ['2130706433:8000', '2130706433:8000'],
  ])('normalizes %s to %s when it is a valid authority', (text, expected) => {
    expect(parseAuthority(text)).toBe(expected);
  });

  it.each([
    'host:8000:80',
    'host:port',
    'host:',
    ':8000',
    '',
    'host:65536',
    'host:123456',
    'evil@max-serve:8000',
    'max-serve:8000@evil',
    'a,b',
    'a b',
    '[::1',
    '[not-ipv6]:80',
    '[::1]8000',
    'host/path',
    'host%2f:80',
  ])('refuses %j when it is not a valid authority', (text) => {
    expect(parseAuthority(text)).toBeNull();
  });

  it('refuses a missing port when the port is required (CONNECT)', () => {
    expect(parseAuthority('max-serve', true)).toBeNull();
    expect(parseAuthority('max-serve:443', true)).toBe('max-serve:443');
  });
});
