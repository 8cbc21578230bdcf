import { nullCache, type ResponseCache } from '../../src/cache/index.ts';
import type { Clock } from '../../src/clock/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { startMock, type MockOptions, type MockServer } from '../../src/mock/index.ts';
import { parsePolicy, type Policy } from '../../src/policy/index.ts';
import { Sidecar } from '../../src/sidecar/index.ts';

/** Mock MAX + mock Ollama + a sidecar on loopback, for tests. */
export interface Stack {
  readonly max: MockServer;
  readonly ollama: MockServer;
  readonly sidecar: Sidecar;
  /** `http://127.0.0.1:PORT` of the sidecar's proxy listener. */
  readonly proxyUrl: string;
  readonly proxyPort: number;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Policy YAML given the two mock URLs; default: {@link defaultPolicy}. */
  readonly policy?: (max: string, ollama: string) => string;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly max?: Partial<MockOptions>;
  readonly ollama?: Partial<MockOptions>;
  readonly cache?: (p: Policy) => ResponseCache;
}

/** The chain of the README: MAX → Ollama (model rewrite) → cache → degraded, with short test timeouts. */
export function defaultPolicy(max: string, ollama: string, extra = ''): string {
  return `
listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu:
    url: ${max}
    timeout: { firstByte: 300ms, idle: 300ms }
  ollama-cpu:
    url: ${ollama}
    timeout: { firstByte: 300ms, idle: 300ms }
${extra}
routes:
  - name: chat
    match: { pathPrefix: / }
    chain:
      - upstream: max-gpu
      - upstream: ollama-cpu
        models: { "*": "llama3.1:8b" }
      - cache: {}
      - degraded: { message: "Service temporarily unavailable" }
`;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const max = await startMock({ kind: 'max', ...options.max });
  const ollama = await startMock({ kind: 'ollama', ...options.ollama });
  const yaml = (options.policy ?? defaultPolicy)(max.url, ollama.url);
  const policy = parsePolicy(yaml, { file: null, env: {} });
  let sidecar: Sidecar;
  try {
    sidecar = await Sidecar.start({
      policy,
      logger: silentLogger(),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.random ? { random: options.random } : {}),
      createCache: options.cache ?? (() => nullCache),
    });
  } catch (err) {
    await Promise.all([max.close(), ollama.close()]);
    throw err;
  }
  const port = sidecar.proxyAddresses[0]!.port;
  return {
    max,
    ollama,
    sidecar,
    proxyUrl: `http://127.0.0.1:${port}`,
    proxyPort: port,
    async close() {
      await sidecar.close();
      await Promise.all([max.close(), ollama.close()]);
    },
  };
}

/** A chat request body. */
export function chatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Hello' }], ...extra };
}
