import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PlainCounter, PlainGauge, PlainHistogram } from '../../src/metrics/plain.ts';

const BUCKETS = [0.005, 0.01, 0.025, 0.1, 1, 10];
const LABELS = [
  { route: 'chat', tier: 'max-gpu' },
  { route: 'chat', tier: 'ollama-cpu' },
  { route: 'we"ird\\route\nname', tier: 'cache' },
] as const;
const SAMPLES = [0, 0.005, 0.0051, 0.01, 0.3, 1, 9.99, 10, 10.5, 1e6];

/** The same series through prom-client and through the plain metrics. */
function pair(): { prom: Registry; plain: Registry } {
  const prom = new Registry();
  const plain = new Registry();
  const labelNames = ['route', 'tier'] as const;
  const c = new Counter({ name: 'c_total', help: 'a counter', labelNames, registers: [prom] });
  const g = new Gauge({ name: 'g', help: 'a gauge', labelNames, registers: [prom] });
  const h = new Histogram({
    name: 'h_seconds',
    help: 'a histogram',
    labelNames,
    buckets: BUCKETS,
    registers: [prom],
  });
  const pc = new PlainCounter({ name: 'c_total', help: 'a counter', labelNames, registry: plain });
  const pg = new PlainGauge({ name: 'g', help: 'a gauge', labelNames, registry: plain });
  const ph = new PlainHistogram({
    name: 'h_seconds',
    help: 'a histogram',
    labelNames,
    buckets: BUCKETS,
    registry: plain,
  });
  LABELS.forEach((labels, i) => {
    c.inc(labels, 0);
    pc.inc(labels, 0);
    for (let k = 0; k <= i; k++) {
      c.labels(labels).inc(k + 0.5);
      pc.of(labels).inc(k + 0.5);
      g.labels(labels).inc();
      pg.of(labels).inc();
    }
    g.labels(labels).dec();
    pg.of(labels).dec();
    for (const v of SAMPLES.slice(i)) {
      h.labels(labels).observe(v);
      ph.of(labels).observe(v);
    }
  });
  return { prom, plain };
}

describe('plain metrics', () => {
  it('expose the same text and JSON as prom-client for the same counts', async () => {
    const { prom, plain } = pair();
    const text = await plain.metrics();
    expect(text).toBe(await prom.metrics());
    expect(text).toContain('h_seconds_bucket{le="0.005",route="chat",tier="max-gpu"} 2');
    expect(text).toContain('h_seconds_bucket{le="+Inf",route="chat",tier="max-gpu"} 10');
    expect(text).toContain('route="we\\"ird\\\\route\\nname"');
    const strip = (xs: Awaited<ReturnType<Registry['getMetricsAsJSON']>>): unknown =>
      xs.map((m) => ({
        ...m,
        values: (
          m as unknown as { values: { labels: unknown; value: number; metricName?: string }[] }
        ).values.map((v) => ({ labels: v.labels, value: v.value, metricName: v.metricName })),
      }));
    expect(strip(await plain.getMetricsAsJSON())).toEqual(strip(await prom.getMetricsAsJSON()));
  });

  it('keeps one series per label set, ignores a value that is not a finite number, and resets', async () => {
    const registry = new Registry();
    const h = new PlainHistogram({ name: 'h', help: 'h', labelNames: ['tier'], buckets: [1], registry });
    expect(h.of({ tier: 'a' })).toBe(h.of({ tier: 'a' }));
    h.of({ tier: 'a' }).observe(Number.NaN);
    h.of({ tier: 'a' }).observe(Number.POSITIVE_INFINITY);
    h.of({ tier: 'a' }).observe(2);
    expect(await registry.metrics()).toContain('h_count{tier="a"} 1');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('tier="a"');
  });
});
