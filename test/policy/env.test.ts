import { describe, expect, it } from 'vitest';
import { policyError } from '../helpers/policy.ts';
import { parsePolicy, PolicyError, REDACTED, type Policy } from '../../src/policy/index.ts';
import { substitute } from '../../src/policy/interpolate.ts';

const parse = (text: string, env: Record<string, string | undefined>): Policy =>
  parsePolicy(text, { file: 'p.yaml', env });

function rejected(text: string, env: Record<string, string | undefined>): PolicyError {
  return policyError(text, 'p.yaml', env);
}

describe('substitute', () => {
  it('replaces a variable when it is set', () => {
    expect(substitute('Bearer ${KEY}', { KEY: 'k1' })).toEqual({
      value: 'Bearer k1',
      vars: ['KEY'],
      errors: [],
    });
  });

  it('uses the default when the variable is unset or empty', () => {
    expect(substitute('${A:-x}-${B:-y}', { B: '' }).value).toBe('x-y');
    expect(substitute('${A:-}', {}).value).toBe('');
  });

  it('keeps a literal ${ when it is written $${', () => {
    expect(substitute('$${A} $5 ${B}', { B: 'b' })).toEqual({ value: '${A} $5 b', vars: ['B'], errors: [] });
  });

  it('reports each unset variable when it has no default', () => {
    expect(substitute('${A}${B}', {}).errors).toEqual([
      'environment variable A is not set (write ${A:-default} to give a default)',
      'environment variable B is not set (write ${B:-default} to give a default)',
    ]);
  });

  it('reports malformed references when the name is invalid or unterminated', () => {
    expect(substitute('${1A}', {}).errors).toEqual(['expected ${NAME} or ${NAME:-default}, got "${1A}"']);
    expect(substitute('x ${A', {}).errors).toEqual(['unterminated "${" (write "$${" for a literal "${")']);
  });
});

describe('policy interpolation', () => {
  const TEXT = `listen:
  proxy: \${PROXY_ADDR:-127.0.0.1:15001}
upstreams:
  max-gpu:
    url: http://\${MAX_HOST}:8000
    maxConcurrent: \${MAX_CONCURRENT:-32}
    breaker:
      jitter: \${JITTER:-0}
  ollama-cpu:
    url: http://ollama:11434
    headers: { Authorization: "Bearer \${OLLAMA_KEY}", X-Team: "\${TEAM:-blue}", X-Plain: plain }
`;

  it('substitutes variables in any string value and re-reads plain scalars as YAML', () => {
    const p = parse(TEXT, { MAX_HOST: 'gpu-0', OLLAMA_KEY: 'ok-123', MAX_CONCURRENT: '8' });
    expect(p.listen.proxy).toEqual([{ host: '127.0.0.1', port: 15001 }]);
    expect(p.upstreams[0]!.origin).toBe('http://gpu-0:8000');
    expect(p.upstreams[0]!.maxConcurrent).toBe(8);
    expect(p.upstreams[0]!.breaker.jitter).toBe(0);
    expect(p.upstreams[1]!.headers).toEqual({
      authorization: 'Bearer ok-123',
      'x-team': 'blue',
      'x-plain': 'plain',
    });
  });

  it('hints at quoting when a ${...} in a flow mapping breaks the YAML syntax', () => {
    const err = rejected('upstreams: { a: { url: "http://a", maxConcurrent: ${N} } }\n', { N: '8' });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.message).toMatch(
      /^YAML: .*\(inside \{ \} or \[ \], quote values that contain \$\{\.\.\.\}\)$/,
    );
  });

  it('keeps a quoted scalar a string when its value looks like a number', () => {
    const err = rejected('upstreams: { a: { url: "http://a", maxConcurrent: "${N}" } }\n', { N: '8' });
    expect(err.problems[0]!.message).toBe('expected an integer ≥ 1, got the value of ${N} (not shown)');
  });

  it('names the key path and the variable when a variable is missing', () => {
    const err = rejected(TEXT, { MAX_HOST: 'gpu-0' });
    expect(err.problems).toEqual([
      {
        file: 'p.yaml',
        line: 11,
        column: 31,
        path: 'upstreams.ollama-cpu.headers.Authorization',
        message:
          'environment variable OLLAMA_KEY is not set (write ${OLLAMA_KEY:-default} to give a default)',
      },
    ]);
  });

  it('reports missing variables together with other problems when both occur', () => {
    const err = rejected('upstreams: { a: { url: "${URL}", maxConcurrent: 0 } }\n', {});
    expect(err.problems.map((p) => p.path)).toEqual(['upstreams.a.url', 'upstreams.a.maxConcurrent']);
    expect(err.problems[0]!.message).toMatch(/URL is not set/);
  });

  it('does not show a value from the environment when that value is invalid', () => {
    const err = rejected('upstreams: { a: { url: "${URL}" } }\n', { URL: 'ftp://user:hunter2@x' });
    expect(err.message).not.toContain('hunter2');
    expect(err.problems[0]!.message).toBe(
      'expected an http:// or https:// URL without query or fragment, got the value of ${URL} (not shown)',
    );
  });
});

describe('policy redaction', () => {
  it('redacts values from the environment and credential-like keys when building the view', () => {
    const p = parse(
      `listen: { admin: "0.0.0.0:15000" }
admin: { token: literal-admin-token }
upstreams:
  max-gpu:
    url: http://\${MAX_HOST}:8000
    headers: { X-Api-Key: k, Cookie: c, X-Trace: on, x-team: "\${TEAM}" }
  ollama-cpu:
    url: http://user:pw@ollama:11434
cache: { backend: redis, url: "redis://:s3cret@redis:6379/0" }
`,
      { MAX_HOST: 'gpu-0', TEAM: 'blue' },
    );
    const view = p.redacted as {
      admin: { token: string };
      upstreams: Record<string, { url: string; headers: Record<string, string> }>;
      cache: { url: string };
    };
    expect(view.admin.token).toBe(REDACTED);
    expect(view.upstreams['max-gpu']!.url).toBe(REDACTED);
    expect(view.upstreams['max-gpu']!.headers).toEqual({
      'x-api-key': REDACTED,
      cookie: REDACTED,
      'x-trace': 'on',
      'x-team': REDACTED,
    });
    expect(view.upstreams['ollama-cpu']!.url).toBe('http://ollama:11434');
    expect(view.upstreams['ollama-cpu']!.headers).toEqual({ authorization: REDACTED });
    expect(view.cache.url).toBe(`redis://${REDACTED}@redis:6379/0`);
    const json = JSON.stringify(view);
    for (const secret of ['literal-admin-token', 'gpu-0', 's3cret', 'pw@', 'blue'])
      expect(json).not.toContain(secret);
    // The compiled values themselves are intact.
    expect(p.admin.token).toBe('literal-admin-token');
    expect(p.upstreams[0]!.hostname).toBe('gpu-0');
    expect(p.cache.url).toBe('redis://:s3cret@redis:6379/0');
  });

  it('redacts a value from the environment when the reference sits behind an alias', () => {
    const p = parse(
      'upstreams:\n  a: { url: "http://a", headers: { x-tag: &k "${KEY}" } }\n  b: { url: "http://b", headers: { x-tag: *k } }\n',
      { KEY: 'v' },
    );
    expect(p.upstreams[1]!.headers).toEqual({ 'x-tag': 'v' });
    expect(JSON.stringify(p.redacted)).not.toContain('"v"');
  });
});
