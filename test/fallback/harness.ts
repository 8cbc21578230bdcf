import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createResponseCache } from '../../src/cache/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import type { ChainDeps, ChainRequest } from '../../src/fallback/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { Metrics } from '../../src/metrics/index.ts';
import { parsePolicy, type Policy } from '../../src/policy/index.ts';
import { endpointOf } from '../../src/protocol/index.ts';
import { UpstreamSet } from '../../src/upstream/index.ts';

/** A local upstream answering every request with `answer`; counts the requests and keeps their bodies. */
export interface FakeUpstream {
  readonly url: string;
  readonly bodies: string[];
  close(): Promise<void>;
}

export async function fakeUpstream(
  answer: (res: ServerResponse, body: string) => void,
): Promise<FakeUpstream> {
  const bodies: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      answer(res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The chain's dependencies for a policy: real upstreams and breakers, a memory cache, a manual clock. */
export function chainDeps(yaml: string): { deps: ChainDeps; policy: Policy; clock: ManualClock } {
  const policy = parsePolicy(yaml, { file: null, env: {} });
  const clock = new ManualClock(1_700_000_000_000);
  const logger = silentLogger();
  const deps: ChainDeps = {
    upstreams: UpstreamSet.build(policy, { clock, onTransition: () => undefined, random: () => 0 }, null),
    cache: createResponseCache(policy.cache, { clock, logger }),
    metrics: new Metrics({ processMetrics: false }),
    clock,
    logger,
    tracing: null,
  };
  return { deps, policy, clock };
}

/** A chat completion request on the policy's first route. */
export function chatRequest(policy: Policy, json: Record<string, unknown>, startIndex = 0): ChainRequest {
  const route = policy.routes[0]!;
  const body = Buffer.from(JSON.stringify(json));
  const path = '/v1/chat/completions';
  return {
    routeName: route.name,
    path,
    endpoint: endpointOf('POST', path)!,
    json,
    model: typeof json.model === 'string' ? json.model : null,
    stream: json.stream === true,
    noStore: false,
    method: 'POST',
    pathWithQuery: path,
    rawHeaders: ['content-type', 'application/json'],
    connection: undefined,
    body,
    route,
    startIndex,
    cacheIndex: route.chain.findIndex((t) => t.kind === 'cache'),
    startedAtMs: 1_700_000_000_000,
  };
}
