import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../log/index.ts';
import { startMock, type MockServer } from '../mock/index.ts';
import { parsePolicy } from '../policy/index.ts';
import { startSidecar } from '../sidecar/index.ts';
import { runFleetDemo } from './demo-fleet.ts';
import { installSignals } from './run.ts';
import { ExitCode, type CliIo } from './program.ts';

/** Ports of the demo; each can be changed with a flag. */
interface DemoPorts {
  proxy: number;
  admin: number;
  health: number;
  max: number;
  ollama: number;
}

/**
 * The demo's policy: the embedded defaults with the mocks as upstreams and an in-memory cache.
 * Only the recovery timeout is shortened (10 s instead of 30 s) so recovery shows quickly.
 */
export function demoPolicyYaml(p: DemoPorts): string {
  return `# breakwater demo policy (embedded)
listen:
  proxy: 127.0.0.1:${p.proxy}
  admin: 127.0.0.1:${p.admin}
  health: 127.0.0.1:${p.health}
upstreams:
  max-gpu:
    url: http://127.0.0.1:${p.max}
    breaker: { recoveryTimeout: 10s }
    healthCheck: { path: /health, interval: 2s }
  ollama-cpu:
    url: http://127.0.0.1:${p.ollama}
    breaker: { recoveryTimeout: 10s }
cache:
  backend: memory
  ttl: 1h
shutdown: { drainDelay: 0s, quietPeriod: 0s }   # the demo stops at once on Ctrl-C
routes:
  - name: ollama-native            # Ollama's own API: only Ollama speaks it
    match: { pathPrefix: /api/ }
    chain:
      - upstream: ollama-cpu
      - cache: {}
      - degraded: { message: "Service temporarily unavailable" }
  - name: chat                     # OpenAI-compatible calls: MAX first, then Ollama
    match: { pathPrefix: / }
    chain:
      - upstream: max-gpu
      - upstream: ollama-cpu
        models: { "*": "llama3.1:8b" }
      - cache: {}
      - degraded: { message: "Service temporarily unavailable" }
`;
}

function tour(p: DemoPorts, max: MockServer, ollama: MockServer): string {
  const proxy = `http://127.0.0.1:${p.proxy}`;
  const chat = `curl -si ${proxy}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"llama-3.1-8b","messages":[{"role":"user","content":"Hello"}]}'`;
  return `
breakwater demo is running (Ctrl-C to stop)

  sidecar proxy   ${proxy}        (point OPENAI_BASE_URL at ${proxy}/v1)
  admin API       http://127.0.0.1:${p.admin}/circuit-breakers   page: http://127.0.0.1:${p.admin}/
  health          http://127.0.0.1:${p.health}/healthz/ready
  mock MAX (GPU)  ${max.url}        control ${max.controlUrl}
  mock Ollama     ${ollama.url}        control ${ollama.controlUrl}

1. Ask the chain; the answer comes from MAX (see x-breakwater-tier):
   ${chat}

2. Break the primary (connections refused) and ask again three times: Ollama answers, then MAX's
   breaker opens and it is no longer called:
   curl -s -X PUT ${max.controlUrl}/_mock/fault -d '{"mode":"refuse"}'
   (other faults: {"mode":"status","status":503}, {"mode":"hang"}, {"mode":"slow","delayMs":8000},
    {"mode":"reset-mid-stream"}, {"mode":"in-band-error"})

3. Watch the breakers:
   npx breakwater status --admin http://127.0.0.1:${p.admin}
   curl -s http://127.0.0.1:${p.admin}/circuit-breakers

4. Break Ollama too: the cache answers what it has seen, anything else gets the degraded answer:
   curl -s -X PUT ${ollama.controlUrl}/_mock/fault -d '{"mode":"status","status":503}'

5. Heal both; after the recovery timeout (10 s here) MAX half-opens, two good calls close it:
   curl -s -X DELETE ${max.controlUrl}/_mock/fault; curl -s -X DELETE ${ollama.controlUrl}/_mock/fault

Streams work the same way: add "stream": true, or use the official openai / ollama clients.
`;
}

export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run mock MAX, mock Ollama and the sidecar on loopback, and print what to try')
    .option('--proxy-port <n>', 'sidecar proxy port', '15001')
    .option('--admin-port <n>', 'admin API port', '15000')
    .option('--health-port <n>', 'health port', '15021')
    .option('--max-port <n>', 'mock MAX port', '18000')
    .option('--ollama-port <n>', 'mock Ollama port', '18434')
    .option('--log-level <level>', 'pino level of the sidecar log', 'warn')
    .option('--fleet', 'fleet mode instead: three sidecars of one group sharing a Redis (docs/fleet.md)')
    .option('--ports-from <n>', 'with --fleet: base of its ports (0: any free ports)', '15100')
    .action(async (opts: Record<string, string | boolean>) => {
      if (opts.fleet === true) return fleetDemo(io, opts);
      const ports: DemoPorts = {
        proxy: Number(opts.proxyPort),
        admin: Number(opts.adminPort),
        health: Number(opts.healthPort),
        max: Number(opts.maxPort),
        ollama: Number(opts.ollamaPort),
      };
      for (const [k, v] of Object.entries(ports)) {
        if (!Number.isInteger(v) || v < 0 || v > 65535) {
          io.err(`breakwater demo: --${k}-port must be a port number\n`);
          process.exit(ExitCode.INVALID);
        }
      }
      const logger = createLogger({ level: (process.env.LOG_LEVEL ?? opts.logLevel) as LevelWithSilent });
      let max: MockServer | null = null;
      let ollama: MockServer | null = null;
      try {
        max = await startMock({ kind: 'max', port: ports.max, controlPort: ports.max + 1 });
        ollama = await startMock({ kind: 'ollama', port: ports.ollama, controlPort: ports.ollama + 1 });
        const policy = parsePolicy(demoPolicyYaml(ports), { file: null, env: process.env });
        const sidecar = await startSidecar({ policy, logger });
        io.out(tour(ports, max, ollama));
        installSignals(sidecar, async () => {
          await sidecar.close();
          await Promise.all([max!.close(), ollama!.close()]);
        });
      } catch (err) {
        io.err(`breakwater demo: ${(err as Error).message}\n`);
        await Promise.all([max?.close(), ollama?.close()]);
        process.exit(ExitCode.FAILURE);
      }
    });
}

async function fleetDemo(io: CliIo, opts: Record<string, string | boolean>): Promise<void> {
  const base = Number(opts.portsFrom);
  if (!Number.isInteger(base) || base < 0 || base > 65_000) {
    io.err('breakwater demo: --ports-from must be 0 or a port number up to 65000\n');
    process.exit(ExitCode.INVALID);
  }
  const logger = createLogger({ level: (process.env.LOG_LEVEL ?? opts.logLevel) as LevelWithSilent });
  try {
    await runFleetDemo(io, logger, base, process.env);
  } catch (err) {
    io.err(`breakwater demo --fleet: ${(err as Error).message}\n`);
    process.exit(ExitCode.FAILURE);
  }
}
