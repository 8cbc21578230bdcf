/**
 * CPU per request of what a cache tier in the chain adds to an answered call (docs/design.md#budgets:
 * ≤ 10 µs): the recorder keeping the chunks, the cache key, and the background write into the
 * memory store — measured in one process, so other load on the machine barely moves it.
 *
 *   node bench/record-cost.ts [ITERATIONS]
 */
import { createResponseCache, type CacheRequest } from '../src/cache/index.ts';
import { systemClock } from '../src/clock/index.ts';
import { silentLogger } from '../src/log/index.ts';
import { parsePolicy } from '../src/policy/index.ts';
import { Framing, endpointOf } from '../src/protocol/index.ts';
import { Recorder } from '../src/upstream/index.ts';

const N = Number(process.argv[2] ?? 50_000);
const BATCH = 1_000;

const policy = parsePolicy(
  'upstreams:\n  max-gpu: { url: "http://127.0.0.1:9" }\ncache: { backend: memory }\n',
  {
    file: null,
    env: {},
  },
);
const cache = createResponseCache(policy.cache, { clock: systemClock, logger: silentLogger() });
const json = { model: 'bench', messages: [{ role: 'user', content: 'hello' }] };
const req: CacheRequest = {
  routeName: 'default',
  path: '/v1/chat/completions',
  endpoint: endpointOf('POST', '/v1/chat/completions')!,
  json,
  model: 'bench',
  stream: false,
  rawHeaders: [],
  noStore: false,
};
const answer = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1700000000,
    model: 'bench',
    choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(200) }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 50, total_tokens: 60 },
  }),
);
const sse = Buffer.from(
  Array.from(
    { length: 20 },
    (_, i) =>
      `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{"content":"tok${i}"},"finish_reason":null}]}\n\n`,
  ).join('') + 'data: [DONE]\n\n',
);

async function measure(label: string, once: () => void): Promise<void> {
  for (let i = 0; i < BATCH * 5; i++) once();
  await new Promise((r) => setImmediate(r));
  const t0 = process.cpuUsage();
  for (let done = 0; done < N; done += BATCH) {
    for (let i = 0; i < BATCH; i++) once();
    // Let the background writes run, as they would between requests.
    await new Promise((r) => setImmediate(r));
  }
  const used = process.cpuUsage(t0);
  process.stdout.write(`${label}: ${((used.user + used.system) / N).toFixed(2)} µs CPU per request\n`);
}

await measure('JSON answer', () => {
  const r = new Recorder(cache.maxEntryBytes);
  const recorded = r.whole(200, 'application/json', answer);
  const key = cache.keyFor(req);
  if (recorded !== null && key !== null) cache.store(req, key, recorded);
});
await measure('20-event SSE answer', () => {
  const r = new Recorder(cache.maxEntryBytes);
  r.push(sse);
  const recorded = r.stream(200, 'text/event-stream', Framing.SSE);
  const key = cache.keyFor({ ...req, stream: true });
  if (recorded !== null && key !== null) cache.store(req, key, recorded);
});
await cache.close();
