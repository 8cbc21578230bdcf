import { describe, expect, it } from 'vitest';
import { upstreamRequestHeaders } from '../../src/upstream/index.ts';

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const ATTEMPT = '00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01';

/** The headers as name → values, lower-cased names. */
function byName(flat: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (out[flat[i]!.toLowerCase()] ??= []).push(flat[i + 1]!);
  return out;
}

describe('upstreamRequestHeaders', () => {
  const raw = ['Content-Type', 'application/json', 'TraceParent', CALLER, 'tracestate', 'caller=1'];

  it("sends the attempt's traceparent in place of the caller's and keeps tracestate when tracing", () => {
    const h = byName(upstreamRequestHeaders(raw, undefined, 'max:8000', {}, new Set(), 2, ATTEMPT));
    expect(h.traceparent).toEqual([ATTEMPT]);
    expect(h.tracestate).toEqual(['caller=1']);
    expect(h.host).toEqual(['max:8000']);
  });

  it("passes the caller's traceparent through untouched when tracing is off", () => {
    const h = byName(upstreamRequestHeaders(raw, undefined, 'max:8000', {}, new Set(), 2, null));
    expect(h.traceparent).toEqual([CALLER]);
  });

  it('adds a traceparent when the caller sent none', () => {
    const h = byName(
      upstreamRequestHeaders(raw.slice(0, 2), undefined, 'max:8000', {}, new Set(), 2, ATTEMPT),
    );
    expect(h.traceparent).toEqual([ATTEMPT]);
  });
});
