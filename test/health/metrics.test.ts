import { afterEach, describe, expect, it } from 'vitest';
import { chat, startFull, type Full } from '../sidecar/helpers.ts';

let full: Full | null = null;
afterEach(async () => {
  await full?.close();
  full = null;
});

/** The README's Metrics table: every metric with its type and label names (histograms add `le` on buckets). */
const SPEC: readonly (readonly [string, string, readonly string[]])[] = [
  ['circuit_breaker_state', 'gauge', ['name']],
  ['circuit_breaker_requests_total', 'counter', ['name']],
  ['circuit_breaker_successes_total', 'counter', ['name']],
  ['circuit_breaker_failures_total', 'counter', ['name']],
  ['circuit_breaker_timeouts_total', 'counter', ['name']],
  ['circuit_breaker_rejections_total', 'counter', ['name']],
  ['circuit_breaker_transitions_total', 'counter', ['name', 'from', 'to']],
  ['fallback_chain_tier_usage_total', 'counter', ['route', 'tier']],
  ['breakwater_request_duration_seconds', 'histogram', ['route', 'tier', 'status']],
  ['breakwater_upstream_first_byte_seconds', 'histogram', ['upstream']],
  ['breakwater_inflight_requests', 'gauge', ['route']],
  ['breakwater_config_reloads_total', 'counter', ['result']],
];

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

describe('metrics', () => {
  it("exports every metric of the README's Metrics table with its type and labels plus process metrics", async () => {
    full = await startFull();
    await chat(full.proxyUrl);
    await full.max.setFault({ mode: 'status', status: 503 });
    await chat(full.proxyUrl);
    await chat(full.proxyUrl);
    await chat(full.proxyUrl);
    const res = await fetch(`${full.healthUrl}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const { types, samples } = parse(await res.text());
    for (const [name, type, labels] of SPEC) {
      expect(types.get(name), name).toBe(type);
      const own = samples.filter((s) =>
        type === 'histogram' ? s.name === `${name}_bucket` : s.name === name,
      );
      expect(own.length, name).toBeGreaterThan(0);
      const expected = type === 'histogram' ? [...labels, 'le'].sort() : [...labels].sort();
      for (const s of own) expect(Object.keys(s.labels).sort(), name).toEqual(expected);
    }
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');

    const value = (name: string, labels: Record<string, string>): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(value('circuit_breaker_state', { name: 'max-gpu' })).toBe(0);
    expect(value('circuit_breaker_state', { name: 'ollama-cpu' })).toBe(2);
    expect(value('circuit_breaker_requests_total', { name: 'max-gpu' })).toBe(3);
    expect(value('circuit_breaker_failures_total', { name: 'max-gpu' })).toBe(2);
    expect(value('circuit_breaker_rejections_total', { name: 'max-gpu' })).toBe(1);
    expect(value('circuit_breaker_transitions_total', { name: 'max-gpu', from: 'closed', to: 'open' })).toBe(
      1,
    );
    expect(value('fallback_chain_tier_usage_total', { route: 'chat', tier: 'max-gpu' })).toBe(1);
    expect(value('fallback_chain_tier_usage_total', { route: 'chat', tier: 'ollama-cpu' })).toBe(3);
    expect(
      value('breakwater_request_duration_seconds_count', {
        route: 'chat',
        tier: 'ollama-cpu',
        status: '200',
      }),
    ).toBe(3);
    expect(value('breakwater_config_reloads_total', { result: 'success' })).toBe(0);
    expect(value('breakwater_config_reloads_total', { result: 'failure' })).toBe(0);
    expect(value('breakwater_inflight_requests', { route: 'chat' })).toBe(0);
  });

  it('serves the same registry on the admin listener', async () => {
    full = await startFull();
    const admin = parse(await (await fetch(`${full.adminUrl}/metrics`)).text());
    expect(admin.types.get('fallback_chain_tier_usage_total')).toBe('counter');
  });
});
