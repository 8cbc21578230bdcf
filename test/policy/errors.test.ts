import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { policyError } from '../helpers/policy.ts';
import { ErrorCode } from '../../src/errors/index.ts';
import { loadPolicyFile, parsePolicy, PolicyError, type PolicyProblem } from '../../src/policy/index.ts';

const FILE = '/etc/breakwater/policy.yaml';

/** Parses `text` expecting failure; returns the PolicyError. */
function problemsOf(text: string, env: Record<string, string> = {}): PolicyError {
  return policyError(text, FILE, env);
}

const only = (err: PolicyError): PolicyProblem => {
  expect(err.problems).toHaveLength(1);
  return err.problems[0]!;
};

describe('policy errors', () => {
  it('names file, line, column, key and the closest key when a key is misspelt', () => {
    const err = problemsOf(`upstreams:
  max-gpu:
    url: http://max-serve:8000
    breaker:
      recoveryTimeout: 30s

      failureThreshld: 3
`);
    expect(err.code).toBe(ErrorCode.POLICY_INVALID);
    expect(err.status).toBe(500);
    expect(only(err)).toEqual({
      file: FILE,
      line: 7,
      column: 7,
      path: 'upstreams.max-gpu.breaker.failureThreshld',
      message: 'unknown key (did you mean failureThreshold?)',
    });
    expect(err.message).toBe(
      `${FILE}:7:7: upstreams.max-gpu.breaker.failureThreshld: unknown key (did you mean failureThreshold?)`,
    );
  });

  it('lists the known keys when an unknown key is close to none', () => {
    const p = only(problemsOf('upstreams: { a: { url: "http://a" } }\nzebra: 1\n'));
    expect(p).toMatchObject({ line: 2, column: 1, path: 'zebra' });
    expect(p.message).toMatch(/^unknown key \(expected one of listen, admin, upstreams,/);
  });

  it('says units are required when a duration is a bare number', () => {
    const p = only(problemsOf('upstreams:\n  a:\n    url: http://a\n    timeout: { firstByte: 5000 }\n'));
    expect(p).toMatchObject({ line: 4, column: 27, path: 'upstreams.a.timeout.firstByte' });
    expect(p.message).toBe(
      'expected a duration with a unit (250ms, 5s, 1m, 1h), got 5000: a bare number is not a duration, units are required',
    );
  });

  it('says what was expected and what was got when a duration has an unknown unit', () => {
    const p = only(problemsOf('upstreams: { a: { url: "http://a" } }\nshutdown: { timeout: 5 sec }\n'));
    expect(p.path).toBe('shutdown.timeout');
    expect(p.message).toBe('expected a duration with a unit (250ms, 5s, 1m, 1h), got "5 sec"');
  });

  it('reports expected and received types when a value has the wrong type', () => {
    const err = problemsOf(`upstreams:
  a:
    url: http://a
    maxConcurrent: lots
    breaker: 3
    failOn: [500, 700]
routes: { name: x }
`);
    expect(err.problems.map((p) => [p.line, p.column, p.path, p.message])).toEqual([
      [4, 20, 'upstreams.a.maxConcurrent', 'expected an integer ≥ 1, got "lots"'],
      [5, 14, 'upstreams.a.breaker', 'expected a mapping, got 3'],
      [6, 19, 'upstreams.a.failOn[1]', 'expected an integer from 100 to 599, got 700'],
      [7, 9, 'routes', 'expected a list of routes, got a mapping'],
    ]);
  });

  it('points at the parent mapping when a required url is missing', () => {
    const p = only(problemsOf('upstreams:\n  max-gpu:\n    timeout: { connect: 1s }\n'));
    expect(p).toMatchObject({ line: 3, column: 5, path: 'upstreams.max-gpu.url' });
    expect(p.message).toBe(
      'expected an http:// or https:// URL without query or fragment, got nothing (required)',
    );
  });

  it('reports a missing upstreams key when the document has none', () => {
    const p = only(problemsOf('listen: { proxy: 127.0.0.1:1 }\n'));
    expect(p).toMatchObject({ line: 1, column: 1, path: 'upstreams' });
    expect(p.message).toMatch(/^expected a mapping of upstream name → upstream, got nothing/);
  });

  it('reports the root when the document is empty', () => {
    const p = only(problemsOf(''));
    expect(p).toMatchObject({ line: 1, column: 1, path: '(root)' });
    expect(p.message).toBe('expected a policy mapping (with at least "upstreams"), got an empty document');
  });

  it('rejects a url that is not http or https', () => {
    const p = only(problemsOf('upstreams: { a: { url: "ftp://a" } }\n'));
    expect(p.path).toBe('upstreams.a.url');
    expect(p.message).toBe('expected an http:// or https:// URL without query or fragment, got "ftp://a"');
  });

  it('names the key path and the known upstreams when a chain names an unknown upstream', () => {
    const p = only(
      problemsOf(`upstreams:
  max-gpu: { url: "http://max-serve:8000" }
  ollama-cpu: { url: "http://ollama:11434" }
routes:
  - name: chat
    chain:
      - upstream: max-gpu
      - upstream: olama-cpu
`),
    );
    expect(p).toMatchObject({ line: 8, column: 19, path: 'routes[0].chain[1].upstream' });
    expect(p.message).toBe('expected the name of an upstream (max-gpu, ollama-cpu), got "olama-cpu"');
  });

  it('rejects a chain item when it is not exactly one tier kind', () => {
    const err = problemsOf(`upstreams: { a: { url: "http://a" } }
routes:
  - name: r
    chain:
      - { upstream: a, cache: {} }
      - { degraded: {}, models: { x: y } }
`);
    expect(err.problems.map((p) => [p.path, p.message])).toEqual([
      ['routes[0].chain[0]', 'expected exactly one of upstream, cache, degraded, got upstream and cache'],
      ['routes[0].chain[1].models', 'only allowed with upstream'],
    ]);
  });

  it('rejects duplicate route names and reserved upstream names', () => {
    const err = problemsOf(`upstreams:
  cache: { url: "http://a" }
  1bad: { url: "http://b" }
routes:
  - { name: r, chain: [{ degraded: {} }] }
  - { name: r, chain: [{ degraded: {} }] }
`);
    expect(err.problems.map((p) => [p.line, p.path])).toEqual([
      [2, 'upstreams.cache'],
      [3, 'upstreams["1bad"]'],
      [6, 'routes[1].name'],
    ]);
    expect(err.problems[2]!.message).toBe('expected a unique route name, got "r" again (first at routes[0])');
  });

  it('requires admin.token when the admin listener is not loopback', () => {
    const p = only(problemsOf('listen: { admin: 0.0.0.0:15000 }\nupstreams: { a: { url: "http://a" } }\n'));
    expect(p).toMatchObject({ line: 1, column: 1, path: 'admin.token' });
    expect(p.message).toBe(
      'expected a token because listen.admin (0.0.0.0:15000) is not loopback, got nothing',
    );
  });

  it('requires cache.url when the backend is redis', () => {
    const p = only(problemsOf('upstreams: { a: { url: "http://a" } }\ncache: { backend: redis }\n'));
    expect(p).toMatchObject({ line: 2, column: 8, path: 'cache.url' });
  });

  it('reports every problem at once, in file order, when there are several', () => {
    const err = problemsOf(`listen:
  proxy: nowhere
upstreams:
  max-gpu:
    url: http://max-serve:8000
    breaker: { failureThreshld: 3, jitter: 2 }
routes:
  - name: chat
    chain: [{ upstream: missing }]
readiness: sometimes
`);
    expect(err.problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual([
      '2:10 listen.proxy',
      '6:16 upstreams.max-gpu.breaker.failureThreshld',
      '6:44 upstreams.max-gpu.breaker.jitter',
      '9:25 routes[0].chain[0].upstream',
      '10:12 readiness',
    ]);
    expect(err.message.split('\n')).toHaveLength(5);
    expect(err.problems[4]!.message).toBe(
      'expected one of any-upstream, primary, chain, always, got "sometimes"',
    );
  });

  it('gives file, line and column when the YAML syntax is broken', () => {
    const err = problemsOf('upstreams:\n  a:\n    url: [http://a\n  b: 1\n');
    expect(err.problems[0]).toMatchObject({ file: FILE, line: 4, column: 3, path: '' });
    expect(err.problems[0]!.message).toMatch(/^YAML: /);
    expect(err.message.split('\n')[0]).toMatch(/^\/etc\/breakwater\/policy\.yaml:4:3: YAML: /);
  });

  it('reports a duplicate key as a YAML error when a key repeats', () => {
    const p = only(
      problemsOf('upstreams: { a: { url: "http://a" } }\nreadiness: chain\nreadiness: always\n'),
    );
    expect(p).toMatchObject({
      line: 3,
      column: 1,
      message: 'YAML: Map keys must be unique ("readiness" is first at line 2)',
    });
  });

  it('labels problems <inline> when no file is given', () => {
    expect(() => parsePolicy('upstreams: 1\n', { file: null, env: {} })).toThrow(
      /^<inline>:1:12: upstreams: expected a mapping/,
    );
  });
});

describe('loadPolicyFile', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bw-policy-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('throws BW_ERR_POLICY_UNREADABLE when the file does not exist', async () => {
    const file = join(dir, 'missing.yaml');
    const err = await loadPolicyFile(file, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).code).toBe(ErrorCode.POLICY_UNREADABLE);
    expect((err as PolicyError).message).toBe(`${file}: cannot read the policy file (ENOENT)`);
  });

  it('throws BW_ERR_POLICY_INVALID naming line, column and byte offset when the bytes are not UTF-8', async () => {
    const file = join(dir, 'latin1.yaml');
    await writeFile(file, Buffer.from([0x75, 0x3a, 0x20, 0xe9, 0x0a]));
    const err = (await loadPolicyFile(file, { env: {} }).catch((e: unknown) => e)) as PolicyError;
    expect(err.code).toBe(ErrorCode.POLICY_INVALID);
    expect(err.message).toBe(`${file}:1:4: not UTF-8: invalid byte sequence at byte offset 3 (0xE9)`);
  });

  it('hashes the bytes and records the absolute path when the file is valid', async () => {
    const file = join(dir, 'ok.yaml');
    const bytes = Buffer.from('\uFEFFupstreams: { a: { url: "http://a" } }\n', 'utf8');
    await writeFile(file, bytes);
    const p = await loadPolicyFile(file, { env: {} });
    expect(p.source.file).toBe(file);
    expect(p.source.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});
