import type { Logger } from '../log/index.ts';
import { startMock, type MockServer } from '../mock/index.ts';
import { formatListenAddress, parsePolicy } from '../policy/index.ts';
import { startSidecar, type Sidecar } from '../sidecar/index.ts';
import { installSignals } from './run.ts';
import { demoRedis, type DemoRedis } from './redis-server.ts';
import type { CliIo } from './program.ts';

/** Pods of the fleet demo. */
const PODS = 3;

/** Ports of the fleet demo from a base (`--ports-from`; 0: every listener on a free port). */
function port(base: number, offset: number): number {
  return base === 0 ? 0 : base + offset;
}

/**
 * The policy of one pod of the fleet demo: the demo's chain, MAX's recovery shortened to 10 s, and
 * `fleet:` on the demo's Redis with the production quorum (2) and a 1 s heartbeat.
 */
export function fleetDemoPolicyYaml(
  i: number,
  base: number,
  redis: string,
  max: string,
  ollama: string,
): string {
  return `# breakwater demo --fleet: pod-${i + 1} of 3 (embedded)
listen:
  proxy: 127.0.0.1:${port(base, 1 + i)}
  admin: 127.0.0.1:${port(base, 11 + i)}
  health: 127.0.0.1:${port(base, 21 + i)}
upstreams:
  max-gpu:
    url: ${max}
    breaker: { recoveryTimeout: 10s }
  ollama-cpu:
    url: ${ollama}
    fleetMaxConcurrent: 2       # at most 2 calls in flight to the CPU server across the 3 pods
routes:
  - name: chat
    match: { pathPrefix: / }
    chain:
      - upstream: max-gpu
      - upstream: ollama-cpu
        models: { "*": "llama3.1:8b" }
      - degraded: { message: "Service temporarily unavailable" }
shutdown: { drainDelay: 0s, quietPeriod: 0s }
fleet:
  redis: ${redis}
  group: demo
  podId: pod-${i + 1}
  quorum: 2
`;
}

const addr = (a: { address: string; port: number } | null): string =>
  `http://${formatListenAddress({ host: a!.address, port: a!.port })}`;

function tour(sidecars: readonly Sidecar[], max: MockServer, ollama: MockServer, redis: DemoRedis): string {
  const proxy = sidecars.map((s) => addr(s.proxyAddresses[0]!));
  const admin = sidecars.map((s) => addr(s.adminAddress));
  const ask = (i: number): string =>
    `curl -s -o /dev/null -w '%{http_code} ' ${proxy[i]}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"llama-3.1-8b","messages":[{"role":"user","content":"Hi"}]}'`;
  const pods = sidecars
    .map((_, i) => `  pod-${i + 1}  proxy ${proxy[i]}   admin ${admin[i]}   page ${admin[i]}/`)
    .join('\n');
  return `
breakwater demo --fleet is running: three sidecars of group "demo" sharing Redis (Ctrl-C to stop)

${pods}
  Redis        ${redis.url}${redis.source === 'started' ? ' (started for the demo)' : ' ($REDIS_URL)'}
  mock MAX     ${max.url}   control ${max.controlUrl}
  mock Ollama  ${ollama.url}   control ${ollama.controlUrl}

1. Watch the group (another terminal):
   npx breakwater status --fleet --watch --admin ${admin[0]}

2. Break MAX (the three pods share it):
   curl -s -X PUT ${max.controlUrl}/_mock/fault -d '{"mode":"status","status":503}'

3. Ask pod-1 three times: pod-1 trips, pod-2 and pod-3 stay closed (one pod alone never opens MAX
   for the others: quorum 2):
   for i in 1 2 3; do ${ask(0)}; done

4. Ask pod-2 three times: the group has now seen 2 pods fail 3 times in a row, and pod-3 opens MAX
   without a failed call of its own. Its trip reason names the pods that reported:
   for i in 1 2 3; do ${ask(1)}; done
   curl -s ${admin[2]}/circuit-breakers/max-gpu

5. Heal MAX and keep asking every pod: after the recovery timeout (10 s) one pod takes the probe
   lease and sends the trials; when they succeed the others close too, without probing:
   curl -s -X DELETE ${max.controlUrl}/_mock/fault
   for i in 1 2 3 4 5; do ${ask(0)}; ${ask(1)}; ${ask(2)}; sleep 3; done

6. Maintenance for the whole group, then back:
   npx breakwater breaker open max-gpu --fleet --reason "GPU driver upgrade" --admin ${admin[0]}
   npx breakwater breaker reset max-gpu --fleet --admin ${admin[1]}
`;
}

/**
 * `breakwater demo --fleet`: a mock MAX and a mock Ollama, a Redis (`$REDIS_URL`, or a
 * `redis-server` started here), and three sidecars of one fleet group in this process; prints
 * what to try. Throws (after stopping what it started) when something cannot start.
 */
export async function runFleetDemo(
  io: CliIo,
  logger: Logger,
  base: number,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const started: { close(): Promise<void> | void }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close();
  };
  try {
    const redis = await demoRedis(env);
    started.push({ close: () => redis.stop() });
    const max = await startMock({ kind: 'max', port: port(base, 30), controlPort: port(base, 31) });
    started.push(max);
    const ollama = await startMock({ kind: 'ollama', port: port(base, 40), controlPort: port(base, 41) });
    started.push(ollama);
    const sidecars: Sidecar[] = [];
    for (let i = 0; i < PODS; i++) {
      const text = fleetDemoPolicyYaml(i, base, redis.url, max.url, ollama.url);
      const sidecar = await startSidecar({ policy: parsePolicy(text, { file: null, env: {} }), logger });
      sidecars.push(sidecar);
      started.push(sidecar);
    }
    io.out(tour(sidecars, max, ollama, redis));
    installSignals(sidecars[0]!, stopAll);
  } catch (err) {
    await stopAll();
    throw err;
  }
}
