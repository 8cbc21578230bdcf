import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/index.ts';
import { chat, ROOT, startFull, type Full } from '../sidecar/helpers.ts';

let full: Full | null = null;
afterEach(async () => {
  await full?.close();
  full = null;
});

async function tokens(f: Full): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await f.sidecar.metrics.llm.tokens.get()).values) {
    out[`${v.labels.tier}/${v.labels.model}/${v.labels.kind}`] = v.value;
  }
  return out;
}

async function histogramCount(h: Metrics['llm']['interToken'], tier: string): Promise<number> {
  const v = (await h.get()).values.find((x) => x.metricName?.endsWith('_count') && x.labels.tier === tier);
  return v?.value ?? 0;
}

describe('LLM metrics', () => {
  it('counts reported tokens of answers and streams, and estimates streams without usage', async () => {
    full = await startFull({ max: { chunkDelayMs: 5 } });
    const f = full;
    const whole = (await (await chat(f.proxyUrl)).json()) as {
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    const withUsage = await (
      await chat(f.proxyUrl, { stream: true, stream_options: { include_usage: true } })
    ).text();
    const usageLine = withUsage.split('\n').find((l) => l.includes('"usage":{'))!;
    const streamed = (JSON.parse(usageLine.slice(6)) as { usage: { completion_tokens: number } }).usage;
    const plain = await (await chat(f.proxyUrl, { stream: true })).text();
    const contentEvents = plain.split('\n\n').filter((e) => e.startsWith('data: {')).length;
    expect(await tokens(f)).toEqual({
      'max-gpu/llama-3.1-8b/prompt': whole.usage.prompt_tokens * 2,
      'max-gpu/llama-3.1-8b/completion': whole.usage.completion_tokens + streamed.completion_tokens,
      'max-gpu/llama-3.1-8b/completion_estimate': contentEvents,
    });
    expect(await histogramCount(f.sidecar.metrics.llm.interToken, 'max-gpu')).toBeGreaterThan(0);
    const unknown = (await f.sidecar.metrics.llm.usageUnknown.get()).values;
    expect(unknown).toEqual([{ labels: { route: 'chat', tier: 'max-gpu' }, value: 1 }]);
  });

  it('counts Ollama eval counts under the fallback tier and the degraded answer under its own', async () => {
    full = await startFull({ ollama: { chunkDelayMs: 5 } });
    const f = full;
    await f.max.setFault({ mode: 'refuse' });
    const res = await fetch(`${f.proxyUrl}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(res.headers.get('x-breakwater-tier')).toBe('ollama-cpu');
    expect(await res.text()).toContain('"done":true');
    await f.ollama.setFault({ mode: 'status', status: 503 });
    expect(
      (await chat(f.proxyUrl, { messages: [{ role: 'user', content: 'new' }] })).headers.get(
        'x-breakwater-tier',
      ),
    ).toBe('degraded');
    const t = await tokens(f);
    expect(t['ollama-cpu/llama3.1:8b/prompt']).toBeGreaterThan(0);
    expect(t['ollama-cpu/llama3.1:8b/completion']).toBeGreaterThan(0);
    expect(t['degraded/llama-3.1-8b/prompt']).toBe(0);
    expect(await histogramCount(f.sidecar.metrics.llm.outputRate, 'ollama-cpu')).toBe(1);
  });

  it('documents every exported metric in the README metrics table', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('### Metrics'), readme.indexOf('## Kubernetes'));
    const m = new Metrics({ processMetrics: false });
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name);
    expect(names.length).toBeGreaterThan(12);
    for (const name of names) expect(table, name).toContain(`\`${name}\``);
  });
});
