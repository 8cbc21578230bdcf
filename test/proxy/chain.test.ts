import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock/index.ts';
import { chatBody, defaultPolicy, startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

function client(s: Stack): OpenAI {
  return new OpenAI({ baseURL: `${s.proxyUrl}/v1`, apiKey: 'sk-test', maxRetries: 0 });
}

async function chat(
  s: Stack,
  extra: Record<string, unknown> = {},
): Promise<{
  status: number;
  tier: string | null;
  json: { error: { code: string; message: string } };
  headers: Headers;
}> {
  const res = await fetch(`${s.proxyUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
    body: JSON.stringify(chatBody(extra)),
  });
  const text = await res.text();
  return {
    status: res.status,
    tier: res.headers.get('x-breakwater-tier'),
    json: JSON.parse(text),
    headers: res.headers,
  };
}

describe('fallback chain', () => {
  it('answers from the primary with tier and route headers when MAX is healthy', async () => {
    stack = await startStack();
    const { data, response } = await client(stack)
      .chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    expect(response.headers.get('x-breakwater-tier')).toBe('max-gpu');
    expect(response.headers.get('x-breakwater-route')).toBe('chat');
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]!.message.content).toContain('mock-max');
    expect(stack.max.stats().last!.headers.host).toBe(new URL(stack.max.url).host);
  });

  it('falls back to Ollama with the model rewritten when MAX refuses connections', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'refuse' });
    const r = await chat(stack);
    expect(r.status).toBe(200);
    expect(r.tier).toBe('ollama-cpu');
    expect(r.headers.get('x-breakwater-skipped')).toBe('max-gpu=connect');
    expect(stack.ollama.stats().last!.body).toMatchObject({ model: 'llama3.1:8b' });
    expect(stack.ollama.stats().last!.headers.host).toBe(new URL(stack.ollama.url).host);
  });

  it('opens the breaker after 3 failures and stops calling the primary', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'status', status: 503 });
    for (let i = 0; i < 3; i++) expect((await chat(stack)).tier).toBe('ollama-cpu');
    expect(stack.max.stats().requests).toBe(3);
    const breaker = stack.sidecar.breakers().find((b) => b.name === 'max-gpu')!;
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().trip_reason).toMatch(/3 consecutive failures/);
    for (let i = 0; i < 5; i++) {
      const r = await chat(stack);
      expect(r.tier).toBe('ollama-cpu');
      expect(r.headers.get('x-breakwater-skipped')).toBe('max-gpu=open');
    }
    expect(stack.max.stats().requests).toBe(3);
    expect(breaker.snapshot().total_rejections).toBe(5);
  });

  it('half-opens after the recovery timeout and closes after 2 successes', async () => {
    const clock = new ManualClock();
    stack = await startStack({ clock, random: () => 0 });
    await stack.max.setFault({ mode: 'status', status: 500 });
    for (let i = 0; i < 3; i++) await chat(stack);
    const breaker = stack.sidecar.breakers().find((b) => b.name === 'max-gpu')!;
    expect(breaker.state).toBe('open');
    await stack.max.clearFault();
    clock.advance(29_999);
    expect((await chat(stack)).tier).toBe('ollama-cpu');
    clock.advance(1);
    expect((await chat(stack)).tier).toBe('max-gpu');
    expect(breaker.state).toBe('half_open');
    expect((await chat(stack)).tier).toBe('max-gpu');
    expect(breaker.state).toBe('closed');
  });

  it('re-opens from half-open when the trial fails', async () => {
    const clock = new ManualClock();
    stack = await startStack({ clock, random: () => 0 });
    await stack.max.setFault({ mode: 'status', status: 502 });
    for (let i = 0; i < 3; i++) await chat(stack);
    clock.advance(30_000);
    expect((await chat(stack)).tier).toBe('ollama-cpu');
    const breaker = stack.sidecar.breakers().find((b) => b.name === 'max-gpu')!;
    expect(breaker.state).toBe('open');
    expect(stack.max.stats().requests).toBe(4);
  });

  it('costs one firstByte timeout per call only until the breaker opens when the primary hangs', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'hang' });
    for (let i = 0; i < 3; i++) {
      const r = await chat(stack);
      expect(r.tier).toBe('ollama-cpu');
      expect(r.headers.get('x-breakwater-skipped')).toBe('max-gpu=timeout');
    }
    const breaker = stack.sidecar.breakers().find((b) => b.name === 'max-gpu')!;
    expect(breaker.snapshot()).toMatchObject({ state: 'open', total_timeouts: 3, total_failures: 3 });
    const r = await chat(stack);
    expect(r.headers.get('x-breakwater-skipped')).toBe('max-gpu=open');
    expect(stack.max.stats().requests).toBe(3);
  });

  it('does not trip on 400s and returns them to the caller', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'status', status: 400 });
    const c = client(stack);
    for (let i = 0; i < 5; i++) {
      await expect(c.chat.completions.create({ model: 'm', messages: [] })).rejects.toBeInstanceOf(
        OpenAI.BadRequestError,
      );
    }
    const breaker = stack.sidecar.breakers().find((b) => b.name === 'max-gpu')!;
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_failures: 0, total_successes: 5 });
    expect(stack.ollama.stats().requests).toBe(0);
  });

  it('spills a 429 to the next tier without counting a breaker failure', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'status', status: 429 });
    for (let i = 0; i < 4; i++) {
      const r = await chat(stack);
      expect(r.tier).toBe('ollama-cpu');
      expect(r.headers.get('x-breakwater-skipped')).toBe('max-gpu=429');
    }
    const breaker = stack.sidecar.breakers().find((b) => b.name === 'max-gpu')!;
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_failures: 0 });
  });

  it('answers with the degraded message in OpenAI shape when both upstreams fail', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'status', status: 503 });
    await stack.ollama.setFault({ mode: 'status', status: 503 });
    const { data, response } = await client(stack)
      .chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    expect(response.headers.get('x-breakwater-tier')).toBe('degraded');
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(data.choices[0]!.message.content).toBe('Service temporarily unavailable');
    expect(data.model).toBe('llama-3.1-8b');
  });

  it('ends with 503, Retry-After and x-should-retry false when nothing in the chain can answer', async () => {
    const clock = new ManualClock();
    stack = await startStack({
      clock,
      random: () => 0,
      policy: (max, ollama) => `
listen: { proxy: 127.0.0.1:0 }
upstreams:
  max-gpu: { url: ${max} }
  ollama-cpu: { url: ${ollama}, breaker: { recoveryTimeout: 10s } }
routes:
  - name: strict
    match: { pathPrefix: /v1/ }
    chain: [ { upstream: max-gpu }, { upstream: ollama-cpu } ]
`,
    });
    await stack.max.setFault({ mode: 'status', status: 503 });
    await stack.ollama.setFault({ mode: 'status', status: 503 });
    for (let i = 0; i < 3; i++) expect((await chat(stack)).status).toBe(503);
    clock.advance(4_000);
    const r = await chat(stack);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('6');
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect(r.headers.get('x-breakwater-skipped')).toBe('max-gpu=open, ollama-cpu=open');
    expect(r.json.error.code).toBe('BW_ERR_CHAIN_EXHAUSTED');
    await expect(client(stack).chat.completions.create({ model: 'm', messages: [] })).rejects.toBeInstanceOf(
      OpenAI.InternalServerError,
    );
  });

  it('spills to the next tier when maxConcurrent is reached', async () => {
    stack = await startStack({
      policy: (max, ollama) =>
        defaultPolicy(max, ollama).replace(
          'timeout: { firstByte: 300ms, idle: 300ms }',
          'maxConcurrent: 1\n    timeout: { firstByte: 5s, idle: 5s }',
        ),
    });
    await stack.max.setFault({ mode: 'slow', delayMs: 400, count: 1 });
    const slow = chat(stack);
    // Wait until the first call is at MAX before sending the second.
    await waitFor(() => stack!.max.stats().requests === 1);
    const second = await chat(stack);
    expect(second.tier).toBe('ollama-cpu');
    expect(second.headers.get('x-breakwater-skipped')).toBe('max-gpu=saturated');
    expect((await slow).tier).toBe('max-gpu');
  });

  it('normalises an upstream error body into the OpenAI shape', async () => {
    stack = await startStack();
    await stack.max.setFault({ mode: 'status', status: 422, body: { detail: 'model field required' } });
    const r = await chat(stack);
    expect(r.status).toBe(422);
    expect(r.json).toEqual({
      error: { message: 'model field required', type: 'invalid_request_error', param: null, code: null },
    });
  });
});

/** Polls a condition on the event loop (for state held in another server of this process). */
async function waitFor(cond: () => boolean, limitMs = 2_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met');
    await new Promise((r) => setImmediate(r));
  }
}
