import { afterEach, describe, expect, it } from 'vitest';
import type { ChainDeps } from '../../src/fallback/index.ts';
import { attemptUpstream } from '../../src/fallback/index.ts';
import { ClientWriter } from '../../src/upstream/index.ts';
import { FakeResponse } from '../upstream/fake-response.ts';
import { chainDeps, chatRequest, fakeUpstream, type FakeUpstream } from './harness.ts';

let up: FakeUpstream | null = null;
let deps: ChainDeps | null = null;
afterEach(async () => {
  await deps?.upstreams.destroy();
  await deps?.cache.close();
  await up?.close();
  up = deps = null;
});

const policyFor = (url: string, extra = ''): string => `
upstreams:
  max-gpu: { url: ${url}${extra} }
routes:
  - name: chat
    match: { pathPrefix: / }
    chain: [ { upstream: max-gpu, models: { "*": tier-model } }, { cache: {} }, { degraded: {} } ]
`;

function writer(): { w: ClientWriter; res: FakeResponse } {
  const res = new FakeResponse();
  return { w: new ClientWriter(res.asResponse(), 'openai'), res };
}

const ctx = { index: 0, skipped: null, resumption: null, trace: null };

describe('attemptUpstream', () => {
  it('answers through the writer with the tier headers and the tier model, and records for the cache', async () => {
    up = await fakeUpstream((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}');
    });
    const h = chainDeps(policyFor(up.url));
    deps = h.deps;
    const req = chatRequest(h.policy, { model: 'asked', messages: [] });
    const { w, res } = writer();
    const result = await attemptUpstream(deps, req, h.policy.routes[0]!.chain[0] as never, w, ctx);
    expect(result).toEqual({ kind: 'answered', tier: 'max-gpu', status: 200 });
    expect(res.headers).toMatchObject({ 'x-breakwater-tier': 'max-gpu', 'x-breakwater-route': 'chat' });
    expect(JSON.parse(up.bodies[0]!)).toEqual({ model: 'tier-model', messages: [] });
    expect(deps.upstreams.byName.get('max-gpu')!.breaker.snapshot()).toMatchObject({ total_successes: 1 });
    await new Promise((r) => setImmediate(r));
    expect(
      await deps.cache.serve(req, deps.cache.keyFor(req)!, null, new FakeResponse().asResponse(), {}),
    ).toMatchObject({ status: 200, framing: null });
  });

  it('reports a failOn status by its status, counted against the breaker, with nothing sent', async () => {
    up = await fakeUpstream((res) => {
      res.writeHead(503).end('busy');
    });
    const h = chainDeps(policyFor(up.url));
    deps = h.deps;
    const { w, res } = writer();
    const result = await attemptUpstream(
      deps,
      chatRequest(h.policy, { messages: [] }),
      h.policy.routes[0]!.chain[0] as never,
      w,
      ctx,
    );
    expect(result).toEqual({ kind: 'skipped', tier: 'max-gpu', reason: '503' });
    expect(res.headersSent).toBe(false);
    expect(deps.upstreams.byName.get('max-gpu')!.breaker.snapshot()).toMatchObject({ total_failures: 1 });
  });

  it('spills a 429 to the next tier without counting it', async () => {
    up = await fakeUpstream((res) => {
      res.writeHead(429).end();
    });
    const h = chainDeps(policyFor(up.url));
    deps = h.deps;
    const result = await attemptUpstream(
      deps,
      chatRequest(h.policy, {}),
      h.policy.routes[0]!.chain[0] as never,
      writer().w,
      ctx,
    );
    expect(result).toEqual({ kind: 'skipped', tier: 'max-gpu', reason: '429' });
    expect(deps.upstreams.byName.get('max-gpu')!.breaker.snapshot()).toMatchObject({ total_failures: 0 });
  });

  it('skips without calling when the breaker is open or maxConcurrent is reached', async () => {
    up = await fakeUpstream((res) => res.end());
    const h = chainDeps(policyFor(up.url, ', maxConcurrent: 1'));
    deps = h.deps;
    const tier = h.policy.routes[0]!.chain[0] as never;
    const rt = deps.upstreams.byName.get('max-gpu')!;
    rt.inflight = 1;
    expect(await attemptUpstream(deps, chatRequest(h.policy, {}), tier, writer().w, ctx)).toEqual({
      kind: 'skipped',
      tier: 'max-gpu',
      reason: 'saturated',
    });
    rt.inflight = 0;
    rt.breaker.forceOpen('maintenance');
    expect(await attemptUpstream(deps, chatRequest(h.policy, {}), tier, writer().w, ctx)).toEqual({
      kind: 'skipped',
      tier: 'max-gpu',
      reason: 'forced_open',
    });
    expect(up.bodies).toEqual([]);
  });

  it('fails on a first-token timeout from the injected clock', async () => {
    up = await fakeUpstream(() => undefined);
    const h = chainDeps(policyFor(up.url, ', timeout: { firstByte: 2s }'));
    deps = h.deps;
    const pending = attemptUpstream(
      deps,
      chatRequest(h.policy, {}),
      h.policy.routes[0]!.chain[0] as never,
      writer().w,
      ctx,
    );
    await new Promise<void>((r) => {
      const wait = (): void => (up!.bodies.length > 0 ? r() : void setImmediate(wait));
      wait();
    });
    h.clock.advance(2_000);
    expect(await pending).toEqual({ kind: 'skipped', tier: 'max-gpu', reason: 'timeout' });
  });

  it('counts the usage an answer reported under the tier and the model asked of it', async () => {
    up = await fakeUpstream((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":22,"total_tokens":33}}');
    });
    const h = chainDeps(policyFor(up.url));
    deps = h.deps;
    const tier = h.policy.routes[0]!.chain[0] as never;
    await attemptUpstream(
      deps,
      chatRequest(h.policy, { model: 'asked', messages: [] }),
      tier,
      writer().w,
      ctx,
    );
    expect(await tokens(deps)).toEqual({
      'chat/max-gpu/tier-model/prompt': 11,
      'chat/max-gpu/tier-model/completion': 22,
    });
    expect((await deps.metrics.llm.usageUnknown.get()).values).toEqual([]);
  });

  it('estimates a stream without usage by its events and times the gaps between its reads', async () => {
    const ev = (c: string): string => `data: {"choices":[{"index":0,"delta":{"content":"${c}"}}]}\n\n`;
    up = await fakeUpstream((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(ev('a'));
      setTimeout(() => res.end(ev('b') + ev('c') + 'data: [DONE]\n\n'), 20);
    });
    const h = chainDeps(policyFor(up.url));
    deps = h.deps;
    const tier = h.policy.routes[0]!.chain[0] as never;
    const req = chatRequest(h.policy, { model: 'asked', stream: true, messages: [] });
    expect(await attemptUpstream(deps, req, tier, writer().w, ctx)).toMatchObject({ kind: 'answered' });
    expect(await tokens(deps)).toEqual({ 'chat/max-gpu/tier-model/completion_estimate': 3 });
    expect((await deps.metrics.llm.usageUnknown.get()).values).toEqual([
      { labels: { route: 'chat', tier: 'max-gpu' }, value: 1 },
    ]);
    const count = (await deps.metrics.llm.interToken.get()).values.find((v) =>
      v.metricName?.endsWith('_count'),
    );
    expect(count?.value).toBe(1);
  });

  it('counts no tokens, not even as unknown, for an answer that is not a success', async () => {
    up = await fakeUpstream((res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"no such model"}}');
    });
    const h = chainDeps(policyFor(up.url));
    deps = h.deps;
    const tier = h.policy.routes[0]!.chain[0] as never;
    const result = await attemptUpstream(
      deps,
      chatRequest(h.policy, { messages: [] }),
      tier,
      writer().w,
      ctx,
    );
    expect(result).toEqual({ kind: 'answered', tier: 'max-gpu', status: 404 });
    expect(await tokens(deps)).toEqual({});
    expect((await deps.metrics.llm.usageUnknown.get()).values).toEqual([]);
  });
});

async function tokens(d: ChainDeps): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await d.metrics.llm.tokens.get()).values) {
    out[`${v.labels.route}/${v.labels.tier}/${v.labels.model}/${v.labels.kind}`] = v.value;
  }
  return out;
}
