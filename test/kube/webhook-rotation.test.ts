import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { Agent, request, type Agent as HttpsAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReloadReport } from '../../src/kube/index.ts';
import { deferred, settle } from '../reload/helpers.ts';
import { options, POLICY_CONFIGMAP } from './fixtures.ts';
import {
  call,
  decode,
  makeCert,
  review,
  startRig,
  type Answer,
  type Rig,
  type TestCert,
} from './webhook-helpers.ts';
import { defaulted, podOf, workloadObject } from './webhook-pods.ts';

/**
 * A directory laid out like a mounted Secret volume (what cert-manager's Secret becomes in the
 * pod): `..<ts>/tls.crt`, `..data -> ..<ts>`, `tls.crt -> ..data/tls.crt`; `update()` swaps
 * `..data` the way the kubelet does.
 */
class SecretDir {
  readonly dir: string;
  #seq = 0;
  #current = '';

  private constructor(dir: string) {
    this.dir = dir;
  }

  get certFile(): string {
    return join(this.dir, 'tls.crt');
  }

  get keyFile(): string {
    return join(this.dir, 'tls.key');
  }

  static async create(files: Record<string, string | Buffer>): Promise<SecretDir> {
    const s = new SecretDir(await mkdtemp(join(tmpdir(), 'bw-secret-')));
    s.#current = await s.#write(files);
    await symlink(s.#current, join(s.dir, '..data'));
    for (const name of Object.keys(files)) await symlink(join('..data', name), join(s.dir, name));
    return s;
  }

  async #write(files: Record<string, string | Buffer>): Promise<string> {
    const ts = `..2026_11_30_10_00_0${++this.#seq}.00000000${this.#seq}`;
    await mkdir(join(this.dir, ts));
    for (const [name, data] of Object.entries(files)) await writeFile(join(this.dir, ts, name), data);
    return ts;
  }

  async update(files: Record<string, string | Buffer>): Promise<void> {
    const ts = await this.#write(files);
    await symlink(ts, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    await rm(join(this.dir, this.#current), { recursive: true, force: true });
    this.#current = ts;
  }
}

const tls = (c: TestCert): Record<string, Buffer> => ({ 'tls.crt': c.cert, 'tls.key': c.key });

const open: { rig: Rig | null; dirs: string[]; agents: HttpsAgent[] } = { rig: null, dirs: [], agents: [] };
afterEach(async () => {
  for (const a of open.agents) a.destroy();
  await open.rig?.close();
  for (const d of open.dirs) await rm(d, { recursive: true, force: true });
  Object.assign(open, { rig: null, dirs: [], agents: [] });
});

interface Rotating {
  rig: Rig;
  secret: SecretDir;
  /** Writes `files`, waits for the watch to see it, lets the debounce run out, resolves with the reload's report. */
  rotate: (files: Record<string, string | Buffer>) => Promise<ReloadReport>;
  /** The same for any change made by `change`. */
  after: (change: () => Promise<void>) => Promise<ReloadReport>;
}

async function rotating(first: TestCert, configMapFile: string | null = null): Promise<Rotating> {
  const secret = await SecretDir.create(tls(first));
  open.dirs.push(secret.dir);
  let event = deferred();
  let reload = deferred<ReloadReport>();
  const rig = await startRig(options(), {
    cert: first,
    certFile: secret.certFile,
    keyFile: secret.keyFile,
    configMapFile,
    debounceMs: 200,
    onFileEvent: () => event.resolve(),
    onReload: (report) => reload.resolve(report),
  });
  open.rig = rig;
  const after = async (change: () => Promise<void>): Promise<ReloadReport> => {
    event = deferred();
    reload = deferred<ReloadReport>();
    await change();
    await event.promise;
    await settle();
    rig.clock.advance(200);
    return reload.promise;
  };
  return { rig, secret, after, rotate: (files) => after(() => secret.update(files)) };
}

/** Starts a POST on `agent` and sends half of `body`; `finish()` sends the rest and reads the answer. */
function halfSent(
  port: number,
  agent: HttpsAgent,
  body: string,
): { finish(): Promise<Answer & { reused: boolean }> } {
  let resolveAnswer!: (a: Answer & { reused: boolean }) => void;
  let rejectAnswer!: (e: Error) => void;
  const answer = new Promise<Answer & { reused: boolean }>(
    (res, rej) => ((resolveAnswer = res), (rejectAnswer = rej)),
  );
  const req = request(
    {
      host: '127.0.0.1',
      port,
      path: '/mutate',
      method: 'POST',
      agent,
      headers: { 'content-length': Buffer.byteLength(body) },
    },
    (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolveAnswer({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          fingerprint,
          reused: req.reusedSocket,
        }),
      );
    },
  );
  req.on('error', rejectAnswer);
  req.write(body.slice(0, body.length >> 1));
  return {
    finish: () => {
      req.end(body.slice(body.length >> 1));
      return answer;
    },
  };
}

describe('webhook certificate rotation', () => {
  it('keeps open connections and serves the new certificate to new handshakes when the files rotate', async () => {
    const [a, b] = [await makeCert('a'), await makeCert('b')];
    const { rig, rotate } = await rotating(a);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: [a.cert, b.cert] });
    open.agents.push(agent);
    const before = await call(rig.port, [a.cert, b.cert], '/healthz', { agent });
    const pod = JSON.stringify(review(defaulted(podOf('Deployment', workloadObject('Deployment', 'plain')))));
    const inFlight = halfSent(rig.port, agent, pod);

    expect(await rotate(tls(b))).toEqual({ certificate: 'reloaded', configMap: 'unchanged' });

    const answered = await inFlight.finish();
    expect([answered.status, answered.reused, answered.fingerprint]).toEqual([200, true, before.fingerprint]);
    expect(decode(answered).patch).not.toBeNull();
    const keptAlive = halfSent(rig.port, agent, pod);
    const again = await keptAlive.finish();
    expect([again.status, again.reused, again.fingerprint]).toEqual([200, true, before.fingerprint]);

    const fresh = await call(rig.port, [a.cert, b.cert], '/healthz');
    expect(fresh.fingerprint).not.toBe(before.fingerprint);
    await expect(call(rig.port, a.cert, '/healthz')).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
    expect(await rig.metrics.text()).toMatch(
      /breakwater_webhook_certificate_reloads_total\{result="success"\} 1\n/,
    );
  });

  it('keeps serving the old pair when the new files do not match, until a good pair arrives', async () => {
    const [a, b] = [await makeCert('a'), await makeCert('b')];
    const { rig, rotate } = await rotating(a);
    const served = (await call(rig.port, a.cert, '/healthz')).fingerprint;
    expect(await rotate({ 'tls.crt': b.cert, 'tls.key': a.key })).toEqual({
      certificate: 'failed',
      configMap: 'unchanged',
    });
    expect((await call(rig.port, a.cert, '/healthz')).fingerprint).toBe(served);
    expect(await rig.metrics.text()).toMatch(/certificate_reloads_total\{result="failure"\} 1\n/);
    expect(await rotate(tls(b))).toEqual({ certificate: 'reloaded', configMap: 'unchanged' });
    expect((await call(rig.port, b.cert, '/healthz')).status).toBe(200);
  });

  it('stamps the new policy checksum once the ConfigMap file changes', async () => {
    const a = await makeCert('a');
    const cm = await SecretDir.create({ 'policy.yaml': POLICY_CONFIGMAP });
    open.dirs.push(cm.dir);
    const { rig, after } = await rotating(a, join(cm.dir, 'policy.yaml'));
    const pod = review(defaulted(podOf('Pod', workloadObject('Pod', 'plain'))));
    const checksum = async (): Promise<unknown> =>
      decode(await rig.post(pod)).patch?.find((op) => op.path === '/metadata/annotations/checksum~1config');
    const first = await checksum();
    expect(first).toMatchObject({ op: 'add', value: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const changed = POLICY_CONFIGMAP.replace('max-serve:8000', 'max-serve:9000');
    expect(await after(() => cm.update({ 'policy.yaml': changed }))).toEqual({
      certificate: 'unchanged',
      configMap: 'reloaded',
    });
    const second = await checksum();
    expect(second).toMatchObject({ op: 'add' });
    expect(second).not.toEqual(first);
  });
});
