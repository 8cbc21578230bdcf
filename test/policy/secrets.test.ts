import { describe, expect, it } from 'vitest';
import { policyError } from '../helpers/policy.ts';
import { parsePolicy, PolicyError } from '../../src/policy/index.ts';
import { redactUserinfo } from '../../src/policy/view.ts';

const UPSTREAMS = 'upstreams: { a: { url: "http://a" } }\n';

function rejected(text: string, env: Record<string, string> = {}): PolicyError {
  return policyError(text, 'p.yaml', env);
}

/** Everything a rejection shows: the message and the structured problems. */
const shown = (err: PolicyError): string => `${err.message}\n${JSON.stringify(err.problems)}`;

describe('redactUserinfo', () => {
  it.each([
    ['redis://:p@ssw0rd@host:6379/0', 'redis://[redacted]@host:6379/0'],
    ['redis://user:pw@host', 'redis://[redacted]@host'],
    ['http://a:b@c@d/e@f', 'http://[redacted]@d/e@f'],
    ['http://host/path@x', 'http://host/path@x'],
    ['http://host?q=a@b', 'http://host?q=a@b'],
    ['no url here', 'no url here'],
  ])('rewrites %s', (url, expected) => {
    expect(redactUserinfo(url)).toBe(expected);
  });
});

describe('secrets in /config', () => {
  it('redacts a Redis password that contains @ up to the last @ of the authority', () => {
    const policy = parsePolicy(`${UPSTREAMS}cache: { url: "redis://:p@ssw0rd@redis:6379/0" }\n`, {
      file: null,
      env: {},
    });
    expect(policy.cache.url).toBe('redis://:p@ssw0rd@redis:6379/0');
    expect((policy.redacted as { cache: { url: string } }).cache.url).toBe('redis://[redacted]@redis:6379/0');
    expect(JSON.stringify(policy.redacted)).not.toContain('ssw0rd');
  });
});

describe('secrets in error messages', () => {
  it('describes a wrong admin.token without showing it', () => {
    const err = rejected(`${UPSTREAMS}admin: { token: 8734629183746 }\n`);
    expect(err.message).toBe('p.yaml:2:17: admin.token: expected a string, got a number (not shown)');
  });

  it('hides a scalar written where the admin mapping belongs', () => {
    const err = rejected(`${UPSTREAMS}admin: s3cr3t-t0ken\n`);
    expect(err.message).toBe('p.yaml:2:8: admin: expected a mapping, got a string (not shown)');
  });

  it('hides upstream header values and cache.url', () => {
    const text = `upstreams:
  a:
    url: http://a
    headers: { authorization: 99887766554433, x-key: "line\\nbreak-s3cr3t" }
cache: { url: "http://u:hunter22@redis" }
`;
    const err = rejected(text);
    expect(err.problems.map((p) => p.path)).toEqual(['upstreams.a.headers.authorization', 'cache.url']);
    expect(err.problems[0]!.message).toBe('expected a string without line breaks, got a number (not shown)');
    expect(err.problems[1]!.message).toBe('expected a redis:// or rediss:// URL, got a string (not shown)');
    for (const secret of ['99887766554433', 's3cr3t', 'hunter22']) expect(shown(err)).not.toContain(secret);
  });

  it('shows a bad upstream URL without its userinfo', () => {
    const err = rejected('upstreams: { a: { url: "ftp://bob:hunter22@a" } }\n');
    expect(err.problems[0]!.message).toBe(
      'expected an http:// or https:// URL without query or fragment, got "ftp://[redacted]@a"',
    );
    expect(shown(err)).not.toContain('hunter22');
  });

  it('never shows a value that came from ${...}, even where the message names the value', () => {
    const text = `upstreams:
  a:
    url: http://a
    timeout:
      firstByte: \${FIRST_BYTE}
    maxConcurrent: \${MAX}
`;
    const err = rejected(text, { FIRST_BYTE: '987654', MAX: 'many-s3cr3t' });
    expect(err.problems.map((p) => p.message)).toEqual([
      'expected a duration with a unit (250ms, 5s, 1m, 1h), got the value of ${FIRST_BYTE} (not shown)',
      'expected an integer ≥ 1, got the value of ${MAX} (not shown)',
    ]);
    expect(shown(err)).not.toMatch(/987654|s3cr3t/);
  });

  it('scrubs a value from ${...} that another key’s message quotes', () => {
    const text = `${UPSTREAMS}listen: { admin: "\${ADMIN_ADDR}" }\n`;
    const err = rejected(text, { ADMIN_ADDR: '10.1.2.3:15000' });
    expect(err.problems[0]!.path).toBe('admin.token');
    expect(err.message).toContain('[redacted]');
    expect(shown(err)).not.toContain('10.1.2.3');
  });

  it('keeps every secret out of a rejection with many problems', () => {
    const secrets = { TOKEN: 'tok-1a2b3c4d', KEY: 'key-5e6f7a8b' };
    const text = `upstreams:
  a:
    url: http://user:pa55word@a
    headers: { x-api-key: "\${KEY}", authorization: [1] }
    maxConcurrent: 0
admin: { token: "\${TOKEN}", extra: 1 }
cache: { url: "redis://:p@ssw0rd@redis", backend: memcached }
routes:
  - name: r
    chain: [{ upstream: nope }]
`;
    const err = rejected(text, secrets);
    expect(err.problems.length).toBeGreaterThanOrEqual(4);
    for (const s of [...Object.values(secrets), 'pa55word', 'p@ssw0rd', 'ssw0rd']) {
      expect(shown(err)).not.toContain(s);
    }
  });
});
