import { afterEach, describe, expect, it } from 'vitest';
import { basePolicy, startFull, type Full } from '../sidecar/helpers.ts';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

const open: { full: Full | null; receiver: OtlpReceiver | null } = { full: null, receiver: null };
afterEach(async () => {
  await open.full?.close();
  await open.receiver?.close();
  open.full = null;
  open.receiver = null;
});

async function chatWithTrace(proxyUrl: string, stream: boolean): Promise<Response> {
  return fetch(`${proxyUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
      tracestate: 'caller=1',
    },
    body: JSON.stringify({
      model: 'llama-3.1-8b',
      messages: [{ role: 'user', content: 'Hello' }],
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
    }),
  });
}

const byTier = (spans: readonly ReceivedSpan[], tier: string): ReceivedSpan =>
  spans.find((s) => s.attributes['breakwater.tier'] === tier && s.attributes['breakwater.attempt.outcome'])!;

describe('tracing through the sidecar', () => {
  it.each([false, true])(
    'exports the request and both attempts of a call that fell back from MAX to Ollama (stream: %s)',
    async (stream) => {
      open.receiver = await OtlpReceiver.start();
      const endpoint = open.receiver.url;
      open.full = await startFull({
        policy: (m, o) => basePolicy(m, o, `telemetry: { otlp: { endpoint: "${endpoint}" } }\n`),
        run: { traceExportDelayMs: 50 },
      });
      const full = open.full;
      await full.max.setFault({ mode: 'status', status: 503 });
      const res = await chatWithTrace(full.proxyUrl, stream);
      expect(res.headers.get('x-breakwater-tier')).toBe('ollama-cpu');
      await res.text();
      const spans = (await open.receiver.waitForSpans(3)).filter((s) => s.traceId === CALLER_TRACE);
      expect(spans).toHaveLength(3);
      const root = spans.find((s) => s.parentSpanId === CALLER_SPAN)!;
      expect(root.name).toBe('POST chat');
      expect(root.attributes).toMatchObject({
        'breakwater.route': 'chat',
        'breakwater.tier': 'ollama-cpu',
        'breakwater.skipped': 'max-gpu=503',
        'http.response.status_code': 200,
        'gen_ai.request.model': 'llama-3.1-8b',
        'gen_ai.operation.name': 'chat',
      });
      const max = byTier(spans, 'max-gpu');
      const ollama = byTier(spans, 'ollama-cpu');
      for (const s of [max, ollama]) expect(s.parentSpanId).toBe(root.spanId);
      expect(max.attributes).toMatchObject({
        'breakwater.attempt.outcome': 'failed',
        'breakwater.attempt.reason': 'status',
        'breakwater.breaker.state': 'closed',
        'breakwater.attempt': 1,
      });
      expect(max.status.code).toBe(2);
      const reply = full.ollama.stats().last!;
      expect(ollama.attributes).toMatchObject({
        'breakwater.attempt.outcome': 'answered',
        'breakwater.attempt': 2,
        'gen_ai.request.model': 'llama3.1:8b',
        'http.response.status_code': 200,
      });
      expect(ollama.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
      expect(ollama.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
      // The upstream's parent is the attempt's span, not the caller's; tracestate passes on.
      expect(reply.headers.traceparent).toBe(`00-${CALLER_TRACE}-${ollama.spanId}-01`);
      expect(full.max.stats().last!.headers.traceparent).toBe(`00-${CALLER_TRACE}-${max.spanId}-01`);
      expect(reply.headers.tracestate).toBe('caller=1');
      expect(open.receiver.refused).toEqual([]);
    },
    30_000,
  );

  it('marks a tier skipped because its breaker is open', async () => {
    open.receiver = await OtlpReceiver.start();
    const endpoint = open.receiver.url;
    open.full = await startFull({
      policy: (m, o) => basePolicy(m, o, `telemetry: { otlp: { endpoint: "${endpoint}" } }\n`),
      run: { traceExportDelayMs: 50 },
    });
    open.full.sidecar.breakers()[0]!.forceOpen('maintenance');
    await (await chatWithTrace(open.full.proxyUrl, false)).text();
    const spans = await open.receiver.waitForSpans(3);
    expect(byTier(spans, 'max-gpu').attributes).toMatchObject({
      'breakwater.attempt.outcome': 'skipped',
      'breakwater.attempt.reason': 'forced_open',
      'breakwater.breaker.state': 'forced_open',
    });
  });

  it('passes the caller traceparent through untouched when tracing is off', async () => {
    open.full = await startFull();
    await (await chatWithTrace(open.full.proxyUrl, false)).text();
    expect(open.full.max.stats().last!.headers.traceparent).toBe(`00-${CALLER_TRACE}-${CALLER_SPAN}-01`);
  });
});
