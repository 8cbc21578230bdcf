import { describe, expect, it } from 'vitest';
import { describeFailure, formatDurationMs, formatPercent } from '../../src/breaker/reason.ts';

describe('breaker reasons', () => {
  it('formats durations in s when at least a second, else in ms', () => {
    expect([formatDurationMs(60_000), formatDurationMs(1_500), formatDurationMs(250)]).toEqual([
      '60s',
      '1.5s',
      '250ms',
    ]);
  });

  it('formats fractions as percents with at most one decimal when not whole', () => {
    expect([formatPercent(0.5), formatPercent(1 / 3), formatPercent(1)]).toEqual(['50%', '33.3%', '100%']);
  });

  it('names kind then message when describing a failure', () => {
    expect(describeFailure({ kind: 'in_band', message: 'model overloaded' })).toBe(
      'in_band: model overloaded',
    );
  });
});
