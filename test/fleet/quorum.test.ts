import { describe, expect, it } from 'vitest';
import {
  StreakBoard,
  fleetClientOptions,
  judgeStreak,
  parseEvent,
  type FailureReport,
} from '../../src/fleet/index.ts';

const RULE = { quorum: 2, failureThreshold: 3 };

function report(pod: string, n: number, at = 1_000, extra: Partial<FailureReport> = {}): FailureReport {
  return { pod, n, trip: false, last: 'timeout: no first token within 300ms', at, ...extra };
}

describe('judgeStreak', () => {
  it('opens when quorum pods have tripped', () => {
    const reason = judgeStreak(
      'max-gpu',
      [report('a', 3, 1, { trip: true }), report('b', 3, 2, { trip: true })],
      RULE,
    );
    expect(reason).toBe(
      'fleet: max-gpu failing on 2 pods (quorum 2), 6 failures in a row: ' +
        'a 3 (tripped, last timeout: no first token within 300ms); b 3 (tripped, last timeout: no first token within 300ms)',
    );
  });

  it('opens when failures spread over many pods add up to quorum × threshold', () => {
    const reports = ['a', 'b', 'c', 'd', 'e', 'f'].map((p) => report(p, 1));
    expect(judgeStreak('max-gpu', reports, RULE)).toContain(
      'failing on 6 pods (quorum 2), 6 failures in a row',
    );
    expect(judgeStreak('max-gpu', reports.slice(0, 5), RULE)).toBeNull();
  });

  it('never opens on one pod alone however long its streak when quorum is 2', () => {
    expect(judgeStreak('max-gpu', [report('sick', 50, 1, { trip: true })], RULE)).toBeNull();
  });

  it('counts one pod for at most failureThreshold failures when judging', () => {
    expect(judgeStreak('max-gpu', [report('sick', 50), report('b', 2)], RULE)).toBeNull();
    expect(judgeStreak('max-gpu', [report('sick', 50), report('b', 3)], RULE)).not.toBeNull();
  });

  it('names five pods and counts the rest when many report', () => {
    const reports = Array.from({ length: 8 }, (_, i) => report(`pod-${i}`, 1, 1, { last: null }));
    const reason = judgeStreak('max-gpu', reports, RULE)!;
    expect(reason).toContain('pod-0 1; pod-1 1; pod-2 1; pod-3 1; pod-4 1; and 3 more');
  });

  it('opens on a single pod when quorum is 1', () => {
    expect(judgeStreak('x', [report('a', 3)], { quorum: 1, failureThreshold: 3 })).not.toBeNull();
  });
});

describe('StreakBoard', () => {
  it('keeps one report per pod, longest streak first', () => {
    const board = new StreakBoard(30_000);
    board.add(report('a', 1, 1_000));
    board.add(report('b', 2, 1_100));
    board.add(report('a', 3, 1_200));
    expect(board.reports.map((r) => [r.pod, r.n])).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
  });

  it('drops reports older than the window by the time of the newest one', () => {
    const board = new StreakBoard(10_000);
    board.add(report('old', 3, 1_000));
    board.add(report('new', 1, 11_001));
    expect(board.reports.map((r) => r.pod)).toEqual(['new']);
  });

  it('replaces everything with the stored reports and forgets all on clear', () => {
    const board = new StreakBoard(10_000);
    board.add(report('a', 1, 5_000));
    board.replace([report('b', 2, 5_000), report('c', 1, 100)], 12_000);
    expect(board.reports.map((r) => r.pod)).toEqual(['b']);
    board.clear();
    expect(board.size).toBe(0);
  });
});

describe('parseEvent', () => {
  it('reads a failing report with its Redis time', () => {
    const ev = parseEvent(
      '{"t":"failing","u":"max-gpu","pod":"p1","e":{"n":2,"trip":false,"last":"status: HTTP 503","at":77}}',
    );
    expect(ev).toEqual({
      t: 'failing',
      u: 'max-gpu',
      report: { pod: 'p1', n: 2, trip: false, last: 'status: HTTP 503', at: 77 },
    });
  });

  it('reads ok, recovered, forced and reset events', () => {
    expect(parseEvent('{"t":"ok","u":"m","pod":"p"}')).toEqual({ t: 'ok', u: 'm', pod: 'p' });
    expect(parseEvent('{"t":"recovered","u":"m","pod":"p","reason":"p closed m"}')).toMatchObject({
      reason: 'p closed m',
    });
    const command = { by: 'alice@laptop', via: 'pod-a', reason: null, at: 5 };
    expect(parseEvent(JSON.stringify({ t: 'forced', u: 'm', command }))).toEqual({
      t: 'forced',
      u: 'm',
      command,
    });
    expect(parseEvent(JSON.stringify({ t: 'reset', u: 'm', command }))).toEqual({
      t: 'reset',
      u: 'm',
      command,
    });
  });

  it('drops malformed, unknown and oversized events', () => {
    for (const text of [
      'not json',
      'null',
      '{"t":"failing","u":"m","pod":"p","e":{"n":0,"at":1}}',
      '{"t":"failing","u":"m","e":{"n":1,"at":1}}',
      '{"t":"ok","pod":"p"}',
      '{"t":"forced","u":"m","command":{"by":"x"}}',
      '{"t":"shutdown","u":"m","pod":"p"}',
      JSON.stringify({ t: 'ok', u: 'm', pod: 'p', pad: 'x'.repeat(20_000) }),
    ]) {
      expect(parseEvent(text)).toBeNull();
    }
  });

  it('bounds the text it keeps from an event', () => {
    const ev = parseEvent(JSON.stringify({ t: 'recovered', u: 'm', pod: 'p', reason: 'r'.repeat(2_000) }));
    expect(ev?.t === 'recovered' && ev.reason.length).toBe(500);
  });
});

describe('fleetClientOptions', () => {
  it('fails fast while disconnected and bounds every command when built', () => {
    const o = fleetClientOptions('redis://:pw@redis:6379/0', 50);
    expect(o).toMatchObject({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: true,
      commandTimeout: 50,
      lazyConnect: true,
    });
    expect(o.tls).toBeUndefined();
    expect(fleetClientOptions('rediss://redis:6380', 50).tls).toEqual({});
  });
});
