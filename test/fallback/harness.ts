import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { createResponseCache } from '../../src/cache/index.ts';
import { ManualClock } from '../../src/clock/index.ts';
import type { ChainDeps, ChainRequest } from '../../src/fallback/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { Metrics } from '../../src/metrics/index.ts';
import { parsePolicy, type Policy } from '../../src/policy/index.ts';
import { endpointOf } from '../../src/protocol/index.ts';
import type { AttemptEnd, AttemptStart, Tracing } from '../../src/telemetry/index.ts';
import { UpstreamSet } from '../../src/upstream/index.ts';

/** A local upstream answering every request with `answer`; keeps the requests' bodies and headers. */
export interface FakeUpstream {
  readonly url: string;
  readonly bodies: string[];
  readonly headers: IncomingHttpHeaders[];
  close(): Promise<void>;
}

export async function fakeUpstream(
  answer: (res: ServerResponse, body: string) => void,
): Promise<FakeUpstream> {
  const bodies: string[] = [];
  const headers: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    headers.push(req.headers);
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
    headers,
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

/** One tier attempt a {@link recordingTracing} saw. */
export interface SeenAttempt {
  readonly start: AttemptStart;
  readonly traceparent: string;
  end: AttemptEnd | null;
}

/** What a {@link recordingTracing} saw of each request: its attempts, and its end (tier, status, skipped). */
export interface SeenRequest {
  readonly attempts: SeenAttempt[];
  end: readonly [string, number, string | null] | null;
}

/** A tracer that keeps what the chain tells it, for tests of where the hooks sit. */
export function recordingTracing(): { tracing: Tracing; requests: SeenRequest[] } {
  const requests: SeenRequest[] = [];
  const tracing: Tracing = {
    startRequest() {
      const seen: SeenRequest = { attempts: [], end: null };
      requests.push(seen);
      return {
        attempt(start) {
          const n = (seen.attempts.length + 1).toString(16).padStart(16, '0');
          const a: SeenAttempt = { start, traceparent: `00-${'1'.repeat(32)}-${n}-01`, end: null };
          seen.attempts.push(a);
          return { traceparent: a.traceparent, end: (e) => void (a.end = e) };
        },
        end: (tier, status, skipped) => void (seen.end = [tier, status, skipped]),
      };
    },
    flush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  return { tracing, requests };
}
