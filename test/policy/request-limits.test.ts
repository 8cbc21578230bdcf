import { describe, expect, it } from 'vitest';
import { policyError } from '../helpers/policy.ts';
import { stringify } from 'yaml';
import { parsePolicy } from '../../src/policy/index.ts';

const UPSTREAMS = 'upstreams: { a: { url: "http://a:1" } }\n';
const parse = (text: string) => parsePolicy(UPSTREAMS + text, { file: null, env: {} });

const messageOf = (text: string): string => policyError(UPSTREAMS + text, null).message;

describe('limits and cache.keyHeaders', () => {
  it('reads every limit when they are set', () => {
    const p = parse(
      'limits: { maxJsonDepth: 10, maxJsonMembers: 500, headersTimeout: 2s, requestTimeout: 1m, bodyIdleTimeout: 250ms }\n',
    );
    expect(p.limits).toEqual({
      maxRequestBodyBytes: 8 * 1024 * 1024,
      maxJsonDepth: 10,
      maxJsonMembers: 500,
      headersTimeoutMs: 2_000,
      requestTimeoutMs: 60_000,
      bodyIdleTimeoutMs: 250,
      maxResponseBodyBytes: 32 * 1024 * 1024,
      maxStreamLineBytes: 1024 * 1024,
      maxBufferedBytes: 32 * 1024 * 1024,
    });
  });

  it('reads maxBufferedBytes, never below maxRequestBody (one body of the largest size always fits)', () => {
    expect(parse('limits: { maxBufferedBytes: 64MiB }\n').limits.maxBufferedBytes).toBe(64 * 1024 * 1024);
    expect(parse('limits: { maxRequestBody: 16MiB, maxBufferedBytes: 1MiB }\n').limits.maxBufferedBytes).toBe(
      16 * 1024 * 1024,
    );
  });

  it('caps headersTimeout at requestTimeout when it is longer (Node refuses that pair)', () => {
    expect(parse('limits: { headersTimeout: 30s, requestTimeout: 5s }\n').limits.headersTimeoutMs).toBe(
      5_000,
    );
    expect(parse('limits: { headersTimeout: 30s, requestTimeout: 0ms }\n').limits.headersTimeoutMs).toBe(
      30_000,
    );
  });

  it('caps bodyIdleTimeout at the largest timer Node runs when it is longer', () => {
    expect(parse('limits: { bodyIdleTimeout: 1000h }\n').limits.bodyIdleTimeoutMs).toBe(2 ** 31 - 1);
  });

  it('refuses a JSON depth outside 1 to 1000 and a member count below 1', () => {
    expect(messageOf('limits: { maxJsonDepth: 5000 }\n')).toContain(
      'limits.maxJsonDepth: expected an integer from 1 to 1000',
    );
    expect(messageOf('limits: { maxJsonMembers: 0 }\n')).toContain(
      'limits.maxJsonMembers: expected an integer ≥ 1',
    );
  });

  it('lower-cases and de-duplicates keyHeaders and takes an empty list', () => {
    expect(parse('cache: { keyHeaders: [X-Api-Key, x-api-key, Cookie] }\n').cache.keyHeaders).toEqual([
      'x-api-key',
      'cookie',
    ]);
    expect(parse('cache: { keyHeaders: [] }\n').cache.keyHeaders).toEqual([]);
  });

  it('refuses keyHeaders that are not a list of header names', () => {
    expect(messageOf('cache: { keyHeaders: authorization }\n')).toContain(
      'cache.keyHeaders: expected a list of header names',
    );
    expect(messageOf('cache: { keyHeaders: [authorization, "x api key"] }\n')).toContain(
      'cache.keyHeaders[1]: expected a valid header name, got "x api key"',
    );
  });

  it('shows the new keys in the view and parses the view back to the same values', () => {
    const p = parse(
      'cache: { keyHeaders: [x-tenant] }\nlimits: { maxJsonMembers: 123, bodyIdleTimeout: 1m30s }\n',
    );
    const view = p.redacted as { cache: { keyHeaders: unknown }; limits: Record<string, unknown> };
    expect(view.cache.keyHeaders).toEqual(['x-tenant']);
    expect(view.limits).toEqual({
      maxRequestBody: '8MiB',
      maxJsonDepth: 64,
      maxJsonMembers: 123,
      headersTimeout: '10s',
      requestTimeout: '5m',
      bodyIdleTimeout: '1m30s',
      maxResponseBody: '32MiB',
      maxStreamLine: '1MiB',
      maxBufferedBytes: '32MiB',
    });
    const again = parsePolicy(stringify(p.redacted), { file: null, env: {} });
    expect(again.limits).toEqual(p.limits);
    expect(again.cache.keyHeaders).toEqual(p.cache.keyHeaders);
  });
});
