import { isIP } from 'node:net';
import { parseFault } from './fault.ts';
import { MockInstance } from './server.ts';
import { FaultMode, type MockConfig, type MockOptions, type MockServer } from './types.ts';

export { FaultMode, MockKind } from './types.ts';
export type {
  FaultSpec,
  MockConfig,
  MockOptions,
  MockRequestRecord,
  MockServer,
  MockStats,
} from './types.ts';
export { parseFault, DEFAULT_AFTER_CHUNKS, DEFAULT_FAULT_STATUS, DEFAULT_SLOW_DELAY_MS } from './fault.ts';
export { DEFAULT_MODELS, DEFAULT_STREAM_CHUNKS } from './config.ts';
export { DEFAULT_REPLY_TEXT, EMBEDDING_DIM } from './reply.ts';

/** `http://host:port`, with brackets for IPv6 and a loopback address in place of a wildcard bind. */
function baseUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return isIP(h) === 6 ? `http://[${h}]:${port}` : `http://${h}:${port}`;
}

/**
 * Starts a fake MAX Serve or Ollama with run-time fault injection: an API listener on `port`
 * (default any free port on 127.0.0.1) and a control listener on `controlPort`. Rejects with
 * `BW_ERR_LISTEN_FAILED` when a port cannot be bound and `BW_ERR_REQUEST_INVALID` on bad options.
 *
 * @example
 * const max = await startMock({ kind: 'max' });
 * await max.setFault({ mode: 'status', status: 503, count: 1 });
 * await fetch(`${max.url}/v1/chat/completions`, { method: 'POST', body: '{"messages":[]}' }); // 503
 * await max.close();
 */
export async function startMock(options: MockOptions): Promise<MockServer> {
  const inst = new MockInstance(options);
  await inst.start(options.port ?? 0, options.controlPort ?? 0, options.fault);
  const url = baseUrl(inst.host, inst.port);
  const controlUrl = baseUrl(inst.host, inst.controlPort);
  return {
    kind: inst.kind,
    url,
    port: inst.port,
    controlUrl,
    setFault: async (f) => {
      await inst.applyFault(parseFault(f), null);
    },
    clearFault: () => inst.applyFault({ mode: FaultMode.NONE }, null),
    fault: () => inst.fault(),
    stats: () => inst.stats(),
    resetStats: () => inst.resetStats(),
    waitForRequests: (count: number) => inst.waitForRequests(count),
    configure: (c: Partial<MockConfig>) => inst.configure(c),
    config: () => inst.config(),
    close: () => inst.close(),
  };
}
