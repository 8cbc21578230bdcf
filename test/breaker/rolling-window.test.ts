import { describe, expect, it } from 'vitest';
import { RollingWindow } from '../../src/breaker/rolling-window.ts';

const T0 = 1_700_000_000_000;

describe('RollingWindow', () => {
  it('sums calls and failures when they fall in the window', () => {
    const w = new RollingWindow(10_000);
    w.record(T0, true);
    w.record(T0 + 4_000, false);
    w.record(T0 + 9_000, true);
    expect([w.calls, w.failures]).toEqual([3, 2]);
  });

  it('drops a bucket when the window has moved past it', () => {
    const w = new RollingWindow(10_000);
    w.record(T0, true);
    w.record(T0 + 5_000, true);
    w.record(T0 + 10_000, false);
    expect([w.calls, w.failures]).toEqual([2, 1]);
    w.roll(T0 + 15_000);
    expect([w.calls, w.failures]).toEqual([1, 0]);
  });

  it('empties when time jumps past a whole window', () => {
    const w = new RollingWindow(10_000);
    for (let i = 0; i < 10; i++) w.record(T0 + i * 1_000, true);
    w.roll(T0 + 1_000_000);
    expect([w.calls, w.failures]).toEqual([0, 0]);
    w.record(T0 + 1_000_000, true);
    expect([w.calls, w.failures]).toEqual([1, 1]);
  });

  it('records into the newest bucket when the clock steps back', () => {
    const w = new RollingWindow(10_000);
    w.record(T0 + 5_000, false);
    w.record(T0, true);
    expect([w.calls, w.failures]).toEqual([2, 1]);
    w.roll(T0 + 15_000);
    expect([w.calls, w.failures]).toEqual([0, 0]);
  });

  it('forgets everything when cleared', () => {
    const w = new RollingWindow(10_000);
    w.record(T0, true);
    w.clear();
    expect([w.calls, w.failures]).toEqual([0, 0]);
    w.record(T0 + 1_000, false);
    expect([w.calls, w.failures]).toEqual([1, 0]);
  });
});
