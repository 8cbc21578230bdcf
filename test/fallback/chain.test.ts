import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  answerHeaders,
  passthroughUpstream,
  runChain,
  skippedHeader,
  type ChainDeps,
} from '../../src/fallback/index.ts';
import { ClientWriter } from '../../src/upstream/index.ts';
import { FakeResponse } from '../upstream/fake-response.ts';
import { chainDeps, chatRequest, fakeUpstream, recordingTracing, type FakeUpstream } from './harness.ts';

let ups: FakeUpstream[] = [];
let deps: ChainDeps | null = null;
afterEach(async () => {
  await deps?.upstreams.destroy();
  await deps?.cache.close();
  for (const u of ups) await u.close();
  ups = [];
  deps = null;
});

const twoTiers = (a: string, b: string, extra = ''): string => `
upstreams:
  max-gpu: { url: ${a}, breaker: { recoveryTimeout: 7s } }
  ollama-cpu: { url: ${b}, breaker: { recoveryTimeout: 12s } }
routes:
  - name: chat
    match: { pathPrefix: / }
    chain: [ { upstream: max-gpu${extra} }, { upstream: ollama-cpu }, { cache: {} }, { degraded: { message: sorry } } ]
`;

function writer(): { w: ClientWriter; res: FakeResponse } {
  const res = new FakeResponse();
  return { w: new ClientWriter(res.asResponse(), 'openai'), res };
}

/** One OpenAI stream event carrying `c`. */
const ev = (c: string): string => `data: {"choices":[{"index":0,"delta":{"content":"${c}"}}]}\n\n`;

/** Two SSE upstreams: the first sends `Hel` and is cut, the second answers `lo` and `[DONE]`. */
async function cutThenContinue(): Promise<void> {
  ups.push(
    await fakeUpstream((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(ev('Hel'));
      setImmediate(() => res.destroy());
    }),
  );
  ups.push(
    await fakeUpstream((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(ev('lo') + 'data: [DONE]\n\n');
    }),
  );
}
describe('runChain', () => {
  it('falls back past a failing tier and says why in x-breakwater-skipped', async () => {
    ups.push(await fakeUpstream((res) => res.writeHead(502).end()));
    ups.push(
      await fakeUpstream((res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"choices":[]}');
      }),
    );
    const h = chainDeps(twoTiers(ups[0]!.url, ups[1]!.url));
    deps = h.deps;
    const { w, res } = writer();
    expect(await runChain(deps, chatRequest(h.policy, { messages: [] }), w)).toBeNull();
    expect(res.headers).toMatchObject({
      'x-breakwater-tier': 'ollama-cpu',
      'x-breakwater-skipped': 'max-gpu=502',
    });
  });

  it('answers degraded when every upstream is open and the cache misses', async () => {
    const h = chainDeps(twoTiers('http://127.0.0.1:9', 'http://127.0.0.1:9'));
    deps = h.deps;
    for (const u of deps.upstreams.byName.values()) u.breaker.forceOpen();
    const { w, res } = writer();
    expect(await runChain(deps, chatRequest(h.policy, { model: 'm', messages: [] }), w)).toBeNull();
    expect(res.headers).toMatchObject({
      'x-breakwater-tier': 'degraded',
      'x-should-retry': 'false',
      'x-breakwater-skipped': 'max-gpu=forced_open, ollama-cpu=forced_open, cache=miss',
    });
    expect(JSON.parse(res.ended!).choices[0].message.content).toBe('sorry');
  });

  it('returns what the 503 must say when nothing answers, Retry-After from the earliest breaker', async () => {
    const yaml = `
upstreams:
  max-gpu: { url: http://127.0.0.1:9, breaker: { failureThreshold: 1, recoveryTimeout: 7s, jitter: 0 } }
  ollama-cpu: { url: http://127.0.0.1:9, breaker: { failureThreshold: 1, recoveryTimeout: 12s, jitter: 0 } }
routes:
  - name: embed
    match: { pathPrefix: / }
    chain: [ { upstream: max-gpu }, { upstream: ollama-cpu }, { degraded: {} } ]
`;
    const h = chainDeps(yaml);
    deps = h.deps;
    for (const u of deps.upstreams.byName.values()) {
      const p = u.breaker.tryAcquire()!;
      u.breaker.failure(p, { kind: 'connect', message: 'x' });
    }
    h.clock.advance(2_000);
    const req = {
      ...chatRequest(h.policy, {}),
      endpoint: { ...chatRequest(h.policy, {}).endpoint, endpoint: 'embeddings' as const },
    };
    const { w, res } = writer();
    expect(await runChain(deps, req, w)).toEqual({
      retryAfterSeconds: 5,
      skipped: 'max-gpu=open, ollama-cpu=open, degraded=no_degraded_form',
    });
    expect(res.headersSent).toBe(false);
  });

  it('resumes a stream cut on an opted-in tier on the next tier, with the text so far', async () => {
    await cutThenContinue();
    const h = chainDeps(twoTiers(ups[0]!.url, ups[1]!.url, ', continueOnNextTier: true'));
    deps = h.deps;
    const { w, res } = writer();
    const req = chatRequest(h.policy, {
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(await runChain(deps, req, w)).toBeNull();
    expect(res.body).toBe(ev('Hel') + ev('lo') + 'data: [DONE]\n\n');
    const sent = JSON.parse(ups[1]!.bodies[0]!) as { messages: unknown[] };
    expect(sent.messages.at(-1)).toEqual({ role: 'assistant', content: 'Hel' });
    expect(res.headers).toMatchObject({ 'x-breakwater-tier': 'max-gpu' });
  });
});

describe('runChain with tracing', () => {
  const json = (res: ServerResponse, body: string): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  };

  it('ends one span per tier tried and the request span, sending each attempt its traceparent', async () => {
    ups.push(await fakeUpstream((res) => res.writeHead(502).end()));
    ups.push(
      await fakeUpstream((res) =>
        json(res, '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}'),
      ),
    );
    const h = chainDeps(twoTiers(ups[0]!.url, ups[1]!.url));
    const rec = recordingTracing();
    deps = { ...h.deps, tracing: rec.tracing };
    const { w } = writer();
    expect(await runChain(deps, chatRequest(h.policy, { model: 'm', messages: [] }), w)).toBeNull();
    const [req] = rec.requests;
    expect(req!.end).toEqual(['ollama-cpu', 200, 'max-gpu=502']);
    const [max, ollama] = req!.attempts;
    expect(max!.start).toEqual({ tier: 'max-gpu', kind: 'upstream', model: 'm', breakerState: 'closed' });
    expect(max!.end).toEqual({
      outcome: 'failed',
      reason: 'status',
      status: 502,
      promptTokens: null,
      completionTokens: null,
    });
    expect(ollama!.end).toEqual({
      outcome: 'answered',
      reason: null,
      status: 200,
      promptTokens: 3,
      completionTokens: 4,
    });
    expect(req!.attempts).toHaveLength(2);
    expect(ups[0]!.headers[0]!.traceparent).toBe(max!.traceparent);
    expect(ups[1]!.headers[0]!.traceparent).toBe(ollama!.traceparent);
  });

  it('ends skipped spans with their reasons and the degraded answer with zero tokens', async () => {
    const h = chainDeps(twoTiers('http://127.0.0.1:9', 'http://127.0.0.1:9'));
    const rec = recordingTracing();
    deps = { ...h.deps, tracing: rec.tracing };
    for (const u of deps.upstreams.byName.values()) u.breaker.forceOpen();
    const { w } = writer();
    await runChain(deps, chatRequest(h.policy, { model: 'm', messages: [] }), w);
    const seen = rec.requests[0]!.attempts.map((a) => [a.start.tier, a.end?.outcome, a.end?.reason]);
    expect(seen).toEqual([
      ['max-gpu', 'skipped', 'forced_open'],
      ['ollama-cpu', 'skipped', 'forced_open'],
      ['cache', 'skipped', 'miss'],
      ['degraded', 'answered', null],
    ]);
    expect(rec.requests[0]!.attempts[3]!.end).toMatchObject({ promptTokens: 0, completionTokens: 0 });
    expect(rec.requests[0]!.end).toEqual([
      'degraded',
      200,
      'max-gpu=forced_open, ollama-cpu=forced_open, cache=miss',
    ]);
  });

  it('ends the span of a stream cut on an opted-in tier as resumed, and the next one as answered', async () => {
    await cutThenContinue();
    const h = chainDeps(twoTiers(ups[0]!.url, ups[1]!.url, ', continueOnNextTier: true'));
    const rec = recordingTracing();
    deps = { ...h.deps, tracing: rec.tracing };
    const { w } = writer();
    const req = chatRequest(h.policy, {
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(await runChain(deps, req, w)).toBeNull();
    const outcomes = rec.requests[0]!.attempts.map((a) => a.end?.outcome);
    expect(outcomes).toEqual(['resumed', 'answered']);
    expect(rec.requests[0]!.end).toEqual(['ollama-cpu', 200, 'max-gpu=reset']);
  });
});

describe('answerHeaders', () => {
  it('builds a fresh object per tier, marking fallbacks as not to retry', () => {
    const skipped = [{ tier: 'max-gpu', reason: 'open' }];
    const a = answerHeaders('chat', 'cache', skipped, true);
    const b = answerHeaders('chat', 'cache', skipped, true);
    expect(a).not.toBe(b);
    expect(a).toEqual({
      'x-breakwater-route': 'chat',
      'x-breakwater-tier': 'cache',
      'x-breakwater-skipped': 'max-gpu=open',
      'x-should-retry': 'false',
    });
    expect(answerHeaders('chat', 'max-gpu', null, false)).toEqual({
      'x-breakwater-route': 'chat',
      'x-breakwater-tier': 'max-gpu',
    });
    expect(skippedHeader([...skipped, { tier: 'cache', reason: 'miss' }])).toBe('max-gpu=open, cache=miss');
  });
});

describe('passthroughUpstream', () => {
  it('picks the first upstream from the start tier whose breaker is not open', () => {
    const h = chainDeps(twoTiers('http://127.0.0.1:9', 'http://127.0.0.1:9'));
    deps = h.deps;
    const route = h.policy.routes[0]!;
    expect(passthroughUpstream(deps, route, 0)?.policy.name).toBe('max-gpu');
    expect(passthroughUpstream(deps, route, 1)?.policy.name).toBe('ollama-cpu');
    deps.upstreams.byName.get('max-gpu')!.breaker.forceOpen();
    expect(passthroughUpstream(deps, route, 0)?.policy.name).toBe('ollama-cpu');
    deps.upstreams.byName.get('ollama-cpu')!.breaker.forceOpen();
    expect(passthroughUpstream(deps, route, 0)).toBeNull();
  });
});
