import { describe, expect, it } from 'vitest';
import { formatSummary, percentile, summarize, type Sample } from '../../src/loadtest/index.ts';

function sample(overrides: Partial<Sample> = {}): Sample {
  return {
    startMs: 0,
    latencyMs: 1,
    firstByteMs: null,
    status: 200,
    tier: 'max-gpu',
    error: null,
    ...overrides,
  };
}

/** 1..n in a fixed scrambled order, so sorting is exercised. */
function scrambled(n: number): number[] {
  return Array.from({ length: n }, (_, i) => ((i * 37) % n) + 1);
}

describe('percentile', () => {
  it('returns the nearest-rank value when the input is sorted', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 90)).toBe(90);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
  });

  it('returns the only value or the lower one when there are one or two values', () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2], 50)).toBe(1);
    expect(percentile([1, 2], 51)).toBe(2);
  });
});

describe('summarize', () => {
  it('computes latency percentiles and max when samples arrive out of order', () => {
    const samples = scrambled(100).map((ms) => sample({ latencyMs: ms }));
    expect(new Set(samples.map((s) => s.latencyMs)).size).toBe(100);
    expect(summarize(samples, 1000).latencyMs).toEqual({ p50: 50, p90: 90, p99: 99, max: 100 });
  });

  it('groups responses by tier, most used first, as a share of all requests when some failed', () => {
    const samples = [
      ...Array.from({ length: 3 }, () => sample({ tier: 'ollama-cpu' })),
      ...Array.from({ length: 6 }, () => sample({ tier: 'max-gpu' })),
      sample({ status: null, tier: null, error: 'connect_error', latencyMs: 5000 }),
    ];
    const s = summarize(samples, 1000);
    expect(Object.keys(s.byTier)).toEqual(['max-gpu', 'ollama-cpu']);
    expect(s.byTier).toEqual({ 'max-gpu': { count: 6, pct: 60 }, 'ollama-cpu': { count: 3, pct: 30 } });
    expect(s).toMatchObject({ requests: 10, sent: 9, responses: 9, ok: 9, errors: 1 });
    expect(s.errorsByKind).toEqual({ connect_error: 1 });
    // The failed connect has no response: it stays out of the latency figures.
    expect(s.latencyMs?.max).toBe(1);
  });

  it('shows `-` as the tier when responses carry no tier header', () => {
    const s = summarize([sample({ tier: '-' }), sample({ tier: '-' }), sample({ tier: 'degraded' })], 10);
    expect(s.byTier).toEqual({ '-': { count: 2, pct: 66.7 }, degraded: { count: 1, pct: 33.3 } });
  });

  it('counts statuses and errors by kind when answers are mixed', () => {
    const samples = [
      sample({ status: 200 }),
      sample({ status: 503, error: 'non_2xx', tier: 'degraded', latencyMs: 40 }),
      sample({ status: 503, error: 'non_2xx', tier: 'degraded' }),
      sample({ status: 200, error: 'stream_error' }),
      sample({ status: null, tier: null, error: 'timeout' }),
      sample({ status: null, tier: null, error: 'socket_error' }),
    ];
    const s = summarize(samples, 100);
    expect(s.byStatus).toEqual({ '200': 2, '503': 2 });
    expect(s.errorsByKind).toEqual({ non_2xx: 2, stream_error: 1, timeout: 1, socket_error: 1 });
    expect(Object.keys(s.errorsByKind)[0]).toBe('non_2xx');
    expect(s).toMatchObject({ requests: 6, sent: 6, responses: 4, ok: 1, errors: 5 });
    expect(s.latencyMs?.max).toBe(40);
  });

  it('reports first-byte percentiles only from stream answers when some streamed', () => {
    const samples = [
      ...scrambled(100).map((ms) => sample({ firstByteMs: ms / 10 })),
      sample({ firstByteMs: null, latencyMs: 3 }),
    ];
    expect(summarize(samples, 10).firstByteMs).toEqual({ p50: 5, p99: 9.9 });
    expect(summarize([sample()], 10).firstByteMs).toBeNull();
  });

  it('derives requests per second from the duration, or from the samples when none is given', () => {
    const samples = Array.from({ length: 50 }, (_, i) => sample({ startMs: i * 10, latencyMs: 10 }));
    expect(summarize(samples, 250)).toMatchObject({ durationMs: 250, requestsPerSecond: 200 });
    expect(summarize(samples)).toMatchObject({ durationMs: 500, requestsPerSecond: 100 });
  });

  it('returns zero counts and no latency when there are no samples', () => {
    expect(summarize([], 0)).toEqual({
      requests: 0,
      sent: 0,
      responses: 0,
      ok: 0,
      errors: 0,
      durationMs: 0,
      requestsPerSecond: 0,
      byTier: {},
      byStatus: {},
      errorsByKind: {},
      latencyMs: null,
      firstByteMs: null,
    });
  });
});

describe('formatSummary', () => {
  it('prints counts, tiers, statuses, errors and percentiles when a stream run had errors', () => {
    const samples = [
      ...Array.from({ length: 3 }, (_, i) => sample({ latencyMs: i + 1, firstByteMs: 0.5 })),
      sample({ tier: 'ollama-cpu', latencyMs: 12.345, firstByteMs: 2 }),
      sample({ status: null, tier: null, error: 'timeout' }),
    ];
    const text = formatSummary(
      { url: 'http://127.0.0.1:15001/v1/chat/completions', concurrency: 6, stream: true },
      summarize(samples, 500),
    );
    expect(text.split('\n')).toEqual([
      'POST http://127.0.0.1:15001/v1/chat/completions  concurrency 6, stream',
      'requests       5 in 0.50 s, 10 req/s',
      'responses      4 (4 ok, 1 error)',
      'by tier        max-gpu     3  60.0 %',
      '               ollama-cpu  1  20.0 %',
      'by status      200  4',
      'errors         timeout  1',
      'latency ms     p50 2.00  p90 12.3  p99 12.3  max 12.3',
      'first byte ms  p50 0.50  p99 2.00',
      '',
    ]);
  });

  it('says none for empty sections and leaves out first byte when nothing streamed', () => {
    const text = formatSummary(
      { url: 'http://127.0.0.1:1/', concurrency: 1, stream: false },
      summarize([sample({ status: null, tier: null, error: 'connect_error' })], 1),
    );
    expect(text).toContain('by tier        none\n');
    expect(text).toContain('errors         connect_error  1\n');
    expect(text).toContain('latency ms     none\n');
    expect(text).not.toContain('first byte');
  });
});
