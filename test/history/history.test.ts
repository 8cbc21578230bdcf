import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { HistoryRecorder, Ring, quantileOfDelta } from '../../src/history/index.ts';
import { Metrics } from '../../src/metrics/index.ts';

describe('Ring', () => {
  it('keeps the newest entries oldest first when pushed past capacity', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.toArray()).toEqual([3, 4, 5]);
    expect(r.size).toBe(3);
  });

  it('refuses a capacity below one', () => {
    expect(() => new Ring(0)).toThrow(RangeError);
  });
});

describe('quantileOfDelta', () => {
  const cum = (entries: [number, number][]): Map<number, number> => new Map(entries);

  it('interpolates inside the bucket like histogram_quantile', () => {
    const before = cum([
      [0.1, 0],
      [1, 0],
      [Number.POSITIVE_INFINITY, 0],
    ]);
    const now = cum([
      [0.1, 10],
      [1, 20],
      [Number.POSITIVE_INFINITY, 20],
    ]);
    expect(quantileOfDelta(0.5, now, before)).toBeCloseTo(0.1);
    expect(quantileOfDelta(0.75, now, before)).toBeCloseTo(0.55);
  });

  it('measures only what was observed since the earlier reading', () => {
    const before = cum([
      [0.1, 100],
      [1, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    const now = cum([
      [0.1, 100],
      [1, 104],
      [Number.POSITIVE_INFINITY, 104],
    ]);
    expect(quantileOfDelta(0.5, now, before)).toBeCloseTo(0.55);
    expect(quantileOfDelta(0.5, before, before)).toBeNull();
  });

  it('answers the largest finite bound for observations past it', () => {
    const now = cum([
      [0.1, 0],
      [1, 0],
      [Number.POSITIVE_INFINITY, 3],
    ]);
    expect(quantileOfDelta(0.99, now, undefined)).toBe(1);
  });
});

describe('HistoryRecorder', () => {
  it('records per-bucket tier answers, tokens, first-token percentiles and breaker trips', async () => {
    const clock = new ManualClock();
    const metrics = new Metrics({ processMetrics: false });
    const breakers = [{ name: 'max-gpu', state: 'closed' }];
    const rec = new HistoryRecorder(metrics, () => breakers, clock, { bucketMs: 10_000, capacity: 4 });
    metrics.answered('chat', 'max-gpu', 200, 0.1);
    await rec.sample();
    metrics.answered('chat', 'max-gpu', 200, 0.1);
    metrics.answered('chat', 'ollama-cpu', 200, 0.1);
    metrics.answered('other', 'ollama-cpu', 200, 0.1);
    metrics.firstByte('max-gpu', 0.2);
    metrics.firstByte('max-gpu', 0.2);
    metrics.llm.answerTokens('chat', 'ollama-cpu', 'm', { prompt: 3, completion: 4, estimatedCompletion: 0 });
    rec.noteTransition({ name: 'max-gpu', from: 'closed', to: 'open' });
    rec.noteTransition({ name: 'max-gpu', from: 'open', to: 'half_open' });
    rec.noteTransition({ name: 'max-gpu', from: 'half_open', to: 'closed' });
    clock.advance(10_000);
    await rec.sample();
    const [first, second] = rec.view().buckets;
    expect(first!.tiers).toEqual({ 'max-gpu': 1 });
    expect(first!.breakers['max-gpu']).toEqual({ state: 'closed', worst: 'closed', trips: 0 });
    expect(second!.tiers).toEqual({ 'max-gpu': 1, 'ollama-cpu': 2 });
    expect(second!.tokens).toEqual({ 'ollama-cpu': 7 });
    expect(second!.breakers['max-gpu']).toEqual({ state: 'closed', worst: 'open', trips: 1 });
    expect(second!.first_token_seconds['max-gpu']!.count).toBe(2);
    expect(second!.first_token_seconds['max-gpu']!.p50).toBeGreaterThan(0.1);
    expect(second!.first_token_seconds['max-gpu']!.p50).toBeLessThanOrEqual(0.25);
    expect(second!.at_ms - first!.at_ms).toBe(10_000);
  });

  it('samples on its own timer and keeps at most its capacity', async () => {
    const clock = new ManualClock();
    const metrics = new Metrics({ processMetrics: false });
    const rec = new HistoryRecorder(metrics, () => [], clock, { bucketMs: 1000, capacity: 3 });
    rec.start();
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const view = rec.view();
    expect(view.capacity).toBe(3);
    expect(view.bucket_seconds).toBe(1);
    expect(view.buckets).toHaveLength(3);
    rec.stop();
    expect(clock.pendingTimers).toBe(0);
  });
});
