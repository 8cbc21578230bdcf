import { createHash } from 'node:crypto';

/** One version of the chaos policy file. */
export interface PolicyVersion {
  readonly name: string;
  readonly text: string;
  /** Accepted by the reloader (good) or rejected whole (bad). */
  readonly good: boolean;
  readonly sha256: string;
}

export interface ChaosTargets {
  readonly max: string;
  readonly ollama: string;
  /** `redis://…`, or null for the memory cache. */
  readonly redis: string | null;
}

/**
 * The chaos policy: `/v1/` walks MAX → Ollama → cache → degraded; `/api/` (Ollama's native API)
 * walks Ollama → cache and ends in the documented 503 when both fail. Short timeouts and recovery
 * so breakers open, half-open and close many times within the run; Ollama's `maxConcurrent` is
 * below the suite's concurrency so the `saturated` skip is exercised too.
 */
function policyText(t: ChaosTargets, message: string, threshold: string, extra = ''): string {
  const upstream = (url: string, maxConcurrent: number): string => `
    url: ${url}
    timeout: { connect: 500ms, firstByte: 2s, idle: 2s }
    breaker: { failureThreshold: ${threshold}, recoveryTimeout: 300ms, maxRecoveryTimeout: 1s, jitter: 0 }
    maxConcurrent: ${maxConcurrent}`;
  const cache =
    t.redis === null
      ? 'cache: { backend: memory }'
      : `cache:
  backend: redis
  url: ${t.redis}
  commandTimeout: 100ms
  breaker: { recoveryTimeout: 300ms, jitter: 0 }`;
  return `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
upstreams:
  max-gpu:${upstream(t.max, 64)}
  ollama-cpu:${upstream(t.ollama, 24)}
${cache}
routes:
  - name: openai
    match: { pathPrefix: /v1/ }
    chain:
      - upstream: max-gpu
      - upstream: ollama-cpu
        models: { "*": "llama3.1:8b" }
      - cache: {}
      - degraded: { message: "${message}" }
  - name: native
    match: { pathPrefix: /api/ }
    chain:
      - upstream: ollama-cpu
      - cache: {}
shutdown: { drainDelay: 0s, quietPeriod: 100ms, timeout: 10s }
${extra}`;
}

const version = (name: string, text: string, good: boolean): PolicyVersion => ({
  name,
  text,
  good,
  sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
});

/**
 * The versions the suite writes: good ones change the degraded message (visible to clients, so a
 * version that was rejected can never be seen answering) and the failure threshold; bad ones carry
 * a message of their own next to a typo, a YAML syntax error or a wrong type.
 */
export function policyVersions(t: ChaosTargets): Record<string, PolicyVersion> {
  return {
    v1: version('v1', policyText(t, 'Degraded answer v1', '3'), true),
    v2: version('v2', policyText(t, 'Degraded answer v2', '2'), true),
    v3: version('v3', policyText(t, 'Degraded answer v3', '3'), true),
    badKey: version('badKey', policyText(t, 'BAD typo', '3', 'limits: { maxRequestBdy: 1MiB }'), false),
    badYaml: version('badYaml', policyText(t, 'BAD yaml', '3', 'limits: { maxRequestBody: [1MiB\n'), false),
    badType: version('badType', policyText(t, 'BAD type', 'lots'), false),
  };
}
