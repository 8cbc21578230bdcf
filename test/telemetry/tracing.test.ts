import { afterEach, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../src/telemetry/index.ts';
import { OtlpReceiver } from '../helpers/otlp-receiver.ts';

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

const open: { receiver: OtlpReceiver | null; tracing: Tracing | null } = { receiver: null, tracing: null };
afterEach(async () => {
  await open.tracing?.shutdown();
  await open.receiver?.close();
  open.tracing = null;
  open.receiver = null;
});

const request = (traceparent: string | undefined) => ({
  route: 'chat',
  method: 'POST',
  path: '/v1/chat/completions',
  operation: 'chat',
  system: 'openai',
  model: 'llama-3.1-8b',
  traceparent,
  tracestate: undefined,
});

describe('startTracing', () => {
  it('is off without an endpoint in the policy or the environment', async () => {
    expect(await startTracing({ policyEndpoint: null, envEndpoint: undefined })).toBeNull();
    expect(await startTracing({ policyEndpoint: null, envEndpoint: '  ' })).toBeNull();
  });

  it('exports a request span continuing the caller and one span per attempt', async () => {
    open.receiver = await OtlpReceiver.start();
    open.tracing = await startTracing({ policyEndpoint: null, envEndpoint: `${open.receiver.url}/` });
    const t = open.tracing!.startRequest(request(`00-${CALLER_TRACE}-${CALLER_SPAN}-01`));
    const a1 = t.attempt({
      tier: 'max-gpu',
      kind: 'upstream',
      model: 'llama-3.1-8b',
      breakerState: 'closed',
    });
    a1.end({
      outcome: 'failed',
      reason: 'connect',
      status: null,
      promptTokens: null,
      completionTokens: null,
    });
    const a2 = t.attempt({
      tier: 'ollama-cpu',
      kind: 'upstream',
      model: 'llama3.1:8b',
      breakerState: 'closed',
    });
    a2.end({ outcome: 'answered', reason: null, status: 200, promptTokens: 12, completionTokens: 30 });
    t.end('ollama-cpu', 200, 'max-gpu=connect');
    await open.tracing!.flush();
    const spans = await open.receiver.waitForSpans(3);
    expect(open.receiver.refused).toEqual([]);
    const root = spans.find((s) => s.attributes['breakwater.route'] === 'chat' && s.kind === 2)!;
    expect(root.traceId).toBe(CALLER_TRACE);
    expect(root.parentSpanId).toBe(CALLER_SPAN);
    expect(root.attributes['breakwater.tier']).toBe('ollama-cpu');
    expect(root.resource['service.name']).toBe('breakwater');
    const [max, ollama] = [a1, a2].map((a) => spans.find((s) => a.traceparent.includes(s.spanId))!);
    expect(max!.parentSpanId).toBe(root.spanId);
    expect(max!.attributes).toMatchObject({
      'breakwater.attempt.outcome': 'failed',
      'breakwater.attempt.reason': 'connect',
      'breakwater.breaker.state': 'closed',
      'gen_ai.request.model': 'llama-3.1-8b',
    });
    expect(max!.status.code).toBe(2);
    expect(ollama!.attributes).toMatchObject({
      'breakwater.attempt.outcome': 'answered',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 30,
      'http.response.status_code': 200,
    });
    expect(a2.traceparent).toBe(`00-${CALLER_TRACE}-${ollama!.spanId}-01`);
  });

  it('starts a new trace when the caller sent a malformed traceparent', async () => {
    open.receiver = await OtlpReceiver.start();
    open.tracing = await startTracing({
      policyEndpoint: open.receiver.url,
      envEndpoint: 'http://127.0.0.1:9',
    });
    const t = open.tracing!.startRequest(request('00-zz-not-a-trace-01'));
    t.end('degraded', 200, null);
    await open.tracing!.flush();
    const [span] = await open.receiver.waitForSpans(1);
    expect(span!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span!.traceId).not.toBe('0'.repeat(32));
    expect(span!.parentSpanId).toBe('');
  });
});
