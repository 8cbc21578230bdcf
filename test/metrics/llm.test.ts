import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LlmMetrics, MAX_MODEL_CHARS, MAX_MODEL_LABELS, OTHER_MODEL } from '../../src/metrics/index.ts';

async function tokens(m: LlmMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await m.tokens.get()).values) {
    out[`${v.labels.tier}/${v.labels.model}/${v.labels.kind}`] = v.value;
  }
  return out;
}

describe('LlmMetrics', () => {
  it('counts reported tokens by kind and estimates only when no completion count came', async () => {
    const m = new LlmMetrics(new Registry());
    m.answerTokens('chat', 'max-gpu', 'm1', { prompt: 10, completion: 20, estimatedCompletion: 5 });
    m.answerTokens('chat', 'max-gpu', 'm1', { prompt: 1, completion: 2, estimatedCompletion: 0 });
    m.answerTokens('chat', 'max-gpu', 'm1', { prompt: null, completion: null, estimatedCompletion: 7 });
    expect(await tokens(m)).toEqual({
      'max-gpu/m1/prompt': 11,
      'max-gpu/m1/completion': 22,
      'max-gpu/m1/completion_estimate': 7,
    });
    const unknown = (await m.usageUnknown.get()).values;
    expect(unknown).toEqual([{ labels: { route: 'chat', tier: 'max-gpu' }, value: 1 }]);
  });

  it('bounds model label values in count and length when callers name many models', () => {
    const m = new LlmMetrics(new Registry());
    for (let i = 0; i < MAX_MODEL_LABELS; i++) expect(m.modelLabel(`m${i}`)).toBe(`m${i}`);
    expect(m.modelLabel('one-more')).toBe(OTHER_MODEL);
    expect(m.modelLabel('m3')).toBe('m3');
    expect(m.modelLabel(null)).toBe(OTHER_MODEL);
    const fresh = new LlmMetrics(new Registry());
    expect(fresh.modelLabel('x'.repeat(500))).toHaveLength(MAX_MODEL_CHARS);
  });

  it('drops output rates that are not positive finite numbers', async () => {
    const m = new LlmMetrics(new Registry());
    m.outputTokensPerSecond('ollama-cpu', 25);
    m.outputTokensPerSecond('ollama-cpu', 0);
    m.outputTokensPerSecond('ollama-cpu', Number.POSITIVE_INFINITY);
    m.outputTokensPerSecond('ollama-cpu', Number.NaN);
    m.interTokenOf('ollama-cpu').observe(0.02);
    const count = (await m.outputRate.get()).values.find((v) => v.metricName?.endsWith('_count'));
    expect(count?.value).toBe(1);
    const itl = (await m.interToken.get()).values.find((v) => v.metricName?.endsWith('_sum'));
    expect(itl?.value).toBeCloseTo(0.02);
  });
});
