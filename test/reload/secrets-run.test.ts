import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli, type Child } from '../sidecar/helpers.ts';
import { ConfigMapDir } from './helpers.ts';

/** Secrets given through the environment. */
const ENV = {
  BW_T_ADMIN_TOKEN: 'adm-9f8e7d6c5b4a',
  BW_T_URL_PASSWORD: 'urlpw-1q2w3e4r',
  BW_T_MAX_KEY: 'maxkey-5t6y7u8i',
  BW_T_BAD_CONCURRENCY: 'conc-secret-0p9o8i',
};
/** Secrets written in the file itself. */
const LITERAL = {
  apiKey: 'literal-key-a1s2d3f4',
  redisPassword: 'p@ssw0rd',
  badToken: '8734629183746',
};

const GOOD = (
  threshold: number,
): string => `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
admin:
  token: \${BW_T_ADMIN_TOKEN}
upstreams:
  max-gpu:
    url: http://max:\${BW_T_URL_PASSWORD}@127.0.0.1:9
    breaker: { failureThreshold: ${threshold} }
    headers:
      authorization: Bearer \${BW_T_MAX_KEY}
      x-api-key: ${LITERAL.apiKey}
cache:
  url: redis://:${LITERAL.redisPassword}@127.0.0.1:6390/0
shutdown: { drainDelay: 0s, quietPeriod: 0s, timeout: 2s }
`;

/** Every wrong value at a secret-bearing key, and one from the environment at an ordinary key. */
const BAD = `listen: { proxy: 127.0.0.1:0, admin: 127.0.0.1:0, health: 127.0.0.1:0 }
admin:
  token: ${LITERAL.badToken}
upstreams:
  max-gpu:
    url: ftp://max:\${BW_T_URL_PASSWORD}@127.0.0.1:9
    maxConcurrent: \${BW_T_BAD_CONCURRENCY}
    headers:
      authorization: ["Bearer", "\${BW_T_MAX_KEY}"]
      x-api-key: 12345678901234
cache:
  url: http://:${LITERAL.redisPassword}@127.0.0.1:6390/0
`;

const SECRETS = [
  ...Object.values(ENV),
  ...Object.values(LITERAL),
  'ssw0rd',
  '12345678901234',
  // The Basic credentials breakwater derives from the URL's userinfo.
  Buffer.from(`max:${ENV.BW_T_URL_PASSWORD}`).toString('base64'),
];

let child: Child | null = null;
let cm: ConfigMapDir | null = null;
afterEach(async () => {
  if (child && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
  if (child) await child.exited;
  await cm?.remove();
  child = null;
  cm = null;
});

describe('secrets of a running sidecar', () => {
  it('never appear in its output or in /config, after good and rejected reloads', async () => {
    cm = await ConfigMapDir.create(GOOD(3));
    child = spawnCli(['run', '--config', cm.file, '--log-level', 'debug'], ENV);
    const c = child;
    const listening = await c.waitForLog((l) => l.msg === 'breakwater listening');
    const config = async (): Promise<string> => {
      const res = await fetch(`http://${String(listening.admin)}/config`, {
        headers: { authorization: `Bearer ${ENV.BW_T_ADMIN_TOKEN}` },
      });
      expect(res.status).toBe(200);
      return res.text();
    };
    const bodies = [await config()];

    await cm.update(GOOD(5));
    await c.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('policy reloaded'));
    bodies.push(await config());

    await cm.update(BAD);
    const rejected = await c.waitForLog((l) => l.level === 50 && l.trigger === 'watch');
    c.proc.kill('SIGHUP');
    await c.waitForLog((l) => l.level === 50 && l.trigger === 'signal');
    const last = await config();
    bodies.push(last);

    // The rejection is there, with its problems at the secret-bearing keys...
    const shown = JSON.parse(last) as { last_reload_error: { problems: { path: string }[] } };
    expect(shown.last_reload_error.problems.map((p) => p.path)).toEqual([
      'admin.token',
      'upstreams.max-gpu.url',
      'upstreams.max-gpu.maxConcurrent',
      'upstreams.max-gpu.headers.authorization',
      'cache.url',
    ]);
    expect(String(rejected.msg)).toContain('admin.token: expected a string, got a number (not shown)');
    // ...and no secret anywhere.
    c.proc.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    const everything = [c.stdout(), c.stderr(), ...bodies].join('\n');
    for (const secret of SECRETS) expect(everything, secret).not.toContain(secret);
    expect(everything).toContain('[redacted]');
  });
});
