import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatListenAddress,
  formatSize,
  isLoopbackHost,
  parseDuration,
  parseListenAddress,
  parseSize,
} from '../../src/policy/index.ts';
import { parseFraction } from '../../src/policy/units.ts';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5_000],
    ['1.5s', 1_500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['0ms', 0],
    [' 2s ', 2_000],
  ])('reads %j as %d ms when the unit is given', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['5000', '5', '', 's', '5 s', '5sec', '-1s', '1d', '1.s'])('returns null when given %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [250, '250ms'],
    [1_500, '1s500ms'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_723_004, '1h2m3s4ms'],
  ])('writes %d ms as %j when formatting', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('parseSize', () => {
  it.each([
    ['100B', 100],
    ['512KiB', 512 * 1024],
    ['1MiB', 1024 ** 2],
    ['8MiB', 8 * 1024 ** 2],
    ['1GiB', 1024 ** 3],
    ['1KB', 1_000],
    ['1MB', 1_000_000],
    ['1GB', 1_000_000_000],
    ['1.5KiB', 1536],
  ])('reads %j as %d bytes when the unit is given', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['1024', '1 mib', '1MiBs', 'MiB', ''])('returns null when given %j', (text) => {
    expect(parseSize(text)).toBeNull();
  });

  it.each([
    [8 * 1024 ** 2, '8MiB'],
    [1_000_000, '1MB'],
    [100, '100B'],
    [1536, '1536B'],
  ])('formats %d bytes as %j when the unit divides it', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
    expect(parseSize(text)).toBe(bytes);
  });
});

describe('parseFraction', () => {
  it.each([
    ['50%', 0.5],
    [0.5, 0.5],
    ['100%', 1],
    [0, 0],
  ])('reads %j as %d when given a percentage or a fraction', (value, n) => {
    expect(parseFraction(value)).toBe(n);
  });

  it.each(['150%', 1.5, -0.1, '0.5', 'half', null])('returns null when given %j', (value) => {
    expect(parseFraction(value)).toBeNull();
  });
});

describe('parseListenAddress', () => {
  it('reads host and port when given host:port', () => {
    expect(parseListenAddress('127.0.0.1:15001')).toEqual({ host: '127.0.0.1', port: 15001 });
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
  });

  it('reads an IPv6 host when it is in brackets', () => {
    const address = parseListenAddress('[::1]:15001');
    expect(address).toEqual({ host: '::1', port: 15001 });
    expect(formatListenAddress(address!)).toBe('[::1]:15001');
  });

  it.each(['15001', ':15001', '::1:15001', 'host:70000', 'host:', 'a b:1'])(
    'returns null when given %j',
    (text) => {
      expect(parseListenAddress(text)).toBeNull();
    },
  );
});

describe('isLoopbackHost', () => {
  it.each(['localhost', '127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])(
    'is true when the host is %j',
    (h) => {
      expect(isLoopbackHost(h)).toBe(true);
    },
  );

  it.each(['0.0.0.0', '10.0.0.1', '::', 'example.com', '128.0.0.1'])('is false when the host is %j', (h) => {
    expect(isLoopbackHost(h)).toBe(false);
  });
});
