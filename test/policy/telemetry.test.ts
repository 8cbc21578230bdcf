import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError } from '../../src/policy/index.ts';

const UP = 'upstreams:\n  max-gpu: { url: "http://max:8000" }\n';

describe('telemetry policy', () => {
  it('leaves tracing off by default', () => {
    const p = parsePolicy(UP, { file: null, env: {} });
    expect(p.telemetry.otlpEndpoint).toBeNull();
    expect(p.redacted).toMatchObject({ telemetry: { otlp: { endpoint: null } } });
  });

  it('keeps the OTLP base URL without its trailing slash when one is set', () => {
    const p = parsePolicy(`${UP}telemetry: { otlp: { endpoint: "http://otel:4318/" } }\n`, {
      file: null,
      env: {},
    });
    expect(p.telemetry.otlpEndpoint).toBe('http://otel:4318');
  });

  it.each([
    ['not a URL', 'collector'],
    ['another scheme', 'grpc://otel:4317'],
    ['a query', 'http://otel:4318/?x=1'],
  ])('rejects an endpoint that is %s', (_what, endpoint) => {
    let err: unknown = null;
    try {
      parsePolicy(`${UP}telemetry: { otlp: { endpoint: "${endpoint}" } }\n`, { file: 'p.yaml', env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    const problem = (err as PolicyError).problems[0]!;
    expect(problem.path).toBe('telemetry.otlp.endpoint');
    expect(problem.message).toContain('OTLP/HTTP base URL');
  });

  it('rejects unknown telemetry keys', () => {
    expect(() =>
      parsePolicy(`${UP}telemetry: { otlp: { endpont: "http://otel:4318" } }\n`, { file: null, env: {} }),
    ).toThrow(PolicyError);
  });
});
