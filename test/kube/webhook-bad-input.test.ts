import { afterEach, describe, expect, it } from 'vitest';
import { MAX_NESTING, MAX_WARNINGS } from '../../src/kube/index.ts';
import { capturingLogger } from '../reload/helpers.ts';
import { options } from './fixtures.ts';
import { call, decode, review, startRig, type Rig } from './webhook-helpers.ts';
import { defaulted, podOf, workloadObject } from './webhook-pods.ts';

type Json = Record<string, unknown>;

let rig: Rig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

const LIMIT = 64 * 1024;

async function start(): Promise<{ r: Rig; lines: () => Record<string, unknown>[] }> {
  const { logger, lines } = capturingLogger();
  rig = await startRig(options(), { logger, maxBodyBytes: LIMIT });
  return { r: rig, lines };
}

const pod = (): Json => defaulted(podOf('Deployment', workloadObject('Deployment', 'plain')));

/** A review of `pod()` with `edit` applied to its request. */
function edited(edit: (request: Json) => void): Json {
  const r = review(pod());
  edit(r['request'] as Json);
  return r;
}

const UID = '7f0c1a52-1111-4c2e-8a55-9b4d02c7a9e1';

/** Every bad input, what it is sent as, and the words its warning must contain. */
const BAD: ReadonlyArray<{ what: string; body: () => unknown; uid: string; warning: RegExp }> = [
  {
    what: 'malformed JSON',
    body: () => '{"apiVersion": "admission.k8s.io/v1", "kind":',
    uid: '',
    warning: /malformed JSON/,
  },
  {
    what: 'JSON cut short after the uid',
    body: () =>
      `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"${UID}","kind":{`,
    uid: UID,
    warning: /malformed JSON/,
  },
  {
    what: 'a JSON list',
    body: () => '[1, 2]',
    uid: '',
    warning: /expected an AdmissionReview object, got a list/,
  },
  {
    what: 'apiVersion admission.k8s.io/v1beta1',
    body: () => ({ ...review(pod()), apiVersion: 'admission.k8s.io/v1beta1' }),
    uid: 'from-review',
    warning: /expected an AdmissionReview of admission\.k8s\.io\/v1, got "admission\.k8s\.io\/v1beta1"/,
  },
  {
    what: 'another kind than AdmissionReview',
    body: () => ({ ...review(pod()), kind: 'TokenReview' }),
    uid: 'from-review',
    warning: /got "admission\.k8s\.io\/v1" "TokenReview"/,
  },
  {
    what: 'a Deployment (not a Pod)',
    body: () =>
      edited((q) => {
        q['kind'] = { group: 'apps', version: 'v1', kind: 'Deployment' };
        q['object'] = workloadObject('Deployment', 'plain');
      }),
    uid: 'from-review',
    warning: /request\.kind: expected v1\/Pod, got apps\/v1\/Deployment/,
  },
  {
    what: 'a pods/ephemeralcontainers subresource',
    body: () => edited((q) => (q['subResource'] = 'ephemeralcontainers')),
    uid: 'from-review',
    warning: /request\.subResource: expected none, got "ephemeralcontainers"/,
  },
  {
    what: 'an UPDATE',
    body: () => edited((q) => (q['operation'] = 'UPDATE')),
    uid: 'from-review',
    warning: /request\.operation: expected CREATE, got "UPDATE"/,
  },
  {
    what: 'no request',
    body: () => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
    uid: '',
    warning: /request: expected a map, got nothing/,
  },
  {
    what: 'no uid',
    body: () => edited((q) => delete q['uid']),
    uid: '',
    warning: /request\.uid: expected a string/,
  },
  {
    what: 'no object',
    body: () => edited((q) => delete q['object']),
    uid: 'from-review',
    warning: /request\.object: expected a Pod, got nothing/,
  },
  {
    what: 'a pod without spec',
    body: () => edited((q) => delete (q['object'] as Json)['spec']),
    uid: 'from-review',
    warning: /request\.object\.spec: expected a pod spec/,
  },
  {
    what: 'a pod without containers',
    body: () => edited((q) => delete ((q['object'] as Json)['spec'] as Json)['containers']),
    uid: 'from-review',
    warning: /spec\.containers: expected a non-empty list of containers/,
  },
  {
    what: 'a container whose env is a string',
    body: () =>
      edited(
        (q) =>
          ((((q['object'] as Json)['spec'] as Json)['containers'] as Json[])[0]!['env'] =
            'OPENAI_BASE_URL=x'),
      ),
    uid: 'from-review',
    warning: /spec\.containers\[0\]\.env: expected a list/,
  },
  {
    what: 'annotations that are not a map',
    body: () => edited((q) => (((q['object'] as Json)['metadata'] as Json)['annotations'] = ['a'])),
    uid: 'from-review',
    warning: /metadata\.annotations: expected a map/,
  },
  {
    what: 'breakwater.io/inject: "yes"',
    body: () =>
      edited(
        (q) =>
          ((((q['object'] as Json)['metadata'] as Json)['annotations'] as Json)['breakwater.io/inject'] =
            'yes'),
      ),
    uid: 'from-review',
    warning: /annotation breakwater\.io\/inject: expected "true" or "false", got "yes"/,
  },
  {
    what: 'breakwater.io/via: pigeon',
    body: () =>
      edited(
        (q) =>
          ((((q['object'] as Json)['metadata'] as Json)['annotations'] as Json)['breakwater.io/via'] =
            'pigeon'),
      ),
    uid: 'from-review',
    warning: /--via: expected one of env, proxy, hosts, got "pigeon"/,
  },
  {
    what: 'a misspelt annotation',
    body: () =>
      edited(
        (q) =>
          ((((q['object'] as Json)['metadata'] as Json)['annotations'] as Json)['breakwater.io/vai'] =
            'proxy'),
      ),
    uid: 'from-review',
    warning: /unknown annotation breakwater\.io\/vai \(did you mean breakwater\.io\/via\?\)/,
  },
  {
    what: 'a bad resource quantity',
    body: () =>
      edited(
        (q) =>
          ((((q['object'] as Json)['metadata'] as Json)['annotations'] as Json)['breakwater.io/memory'] =
            'lots'),
      ),
    uid: 'from-review',
    warning: /annotation breakwater\.io\/memory: expected a quantity such as 50m or 64Mi, got "lots"/,
  },
  {
    what: '--via hosts by annotation with no upstream known',
    body: () =>
      edited(
        (q) =>
          ((((q['object'] as Json)['metadata'] as Json)['annotations'] as Json)['breakwater.io/via'] =
            'hosts'),
      ),
    uid: 'from-review',
    warning: /--via hosts: no upstream to capture/,
  },
  {
    what: `nesting deeper than ${MAX_NESTING}`,
    body: () =>
      `{"kind":"AdmissionReview","request":{"uid":"${UID}","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
    uid: UID,
    warning: new RegExp(`nested deeper than ${MAX_NESTING} levels`),
  },
];

describe('webhook bad input', () => {
  for (const bad of BAD) {
    it(`allows the pod with no patch and a warning when sent ${bad.what}`, async () => {
      const { r, lines } = await start();
      const body = bad.body();
      const answer = await r.post(body);
      expect(answer.status).toBe(200);
      const d = decode(answer);
      const uid = bad.uid === 'from-review' ? ((body as Json)['request'] as Json)['uid'] : bad.uid;
      expect([d.uid, d.allowed, d.patch, d.patchType]).toEqual([uid, true, null, undefined]);
      expect(d.warnings).toHaveLength(1);
      expect(d.warnings[0]).toMatch(/^breakwater: sidecar not injected: /);
      expect(d.warnings[0]).toMatch(bad.warning);
      expect(d.warnings[0]!.length).toBeLessThanOrEqual(256);
      const logged = lines().filter((l) => l['result'] === 'invalid');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 40, uid, msg: 'sidecar not injected: bad review' });
      expect(String(logged[0]!['reason'])).toMatch(bad.warning);
      expect(await r.metrics.text()).toMatch(/breakwater_webhook_reviews_total\{result="invalid"\} 1\n/);
    });
  }

  it(`answers a body over the limit at once, naming the limit, with the uid read from its start`, async () => {
    const { r, lines } = await start();
    const big = review(pod());
    ((big['request'] as Json)['object'] as { metadata: { annotations: Json } }).metadata.annotations[
      'x/big'
    ] = 'x'.repeat(LIMIT);
    const answer = await r.post(big);
    expect(answer.headers['connection']).toBe('close');
    const d = decode(answer);
    expect([d.uid, d.allowed, d.patch]).toEqual([(big['request'] as Json)['uid'], true, null]);
    expect(d.warnings).toEqual([`breakwater: sidecar not injected: review larger than ${LIMIT} bytes`]);
    expect(lines().filter((l) => l['result'] === 'invalid')).toHaveLength(1);
    // Just under the limit is reviewed and injected.
    const fits = review(pod());
    const size = JSON.stringify(fits).length;
    ((fits['request'] as Json)['object'] as { metadata: { annotations: Json } }).metadata.annotations[
      'x/big'
    ] = 'x'.repeat(LIMIT - size - 20);
    expect(JSON.stringify(fits).length).toBeLessThanOrEqual(LIMIT);
    expect(decode(await r.post(fits)).patch).not.toBeNull();
  });

  it('keeps at most MAX_WARNINGS warnings, each at most 256 characters', async () => {
    const { r } = await start();
    const p = pod();
    const app = (p['spec'] as { containers: Json[] }).containers[0]!;
    app['env'] = Array.from({ length: 15 }, (_, i) => ({
      name: `LLM_${i}_${'X'.repeat(200)}`,
      valueFrom: { secretKeyRef: { name: 's', key: 'k' } },
    }));
    (p['metadata'] as { annotations: Json }).annotations['breakwater.io/env'] = (app['env'] as Json[])
      .map((e) => e['name'])
      .join(',');
    const d = decode(await r.post(review(p)));
    expect(d.patch).not.toBeNull();
    expect(d.warnings).toHaveLength(MAX_WARNINGS);
    for (const w of d.warnings) expect(w.length).toBeLessThanOrEqual(256);
    expect(d.warnings[0]).toMatch(/…$/);
  });

  it('answers JSON errors on other methods and paths, /healthz and /metrics', async () => {
    const { r } = await start();
    const get = await call(r.port, r.cert.cert, '/mutate');
    expect([get.status, get.headers['allow'], JSON.parse(get.body)]).toMatchObject([
      405,
      'POST',
      { error: { code: 'BW_ERR_REQUEST_INVALID' } },
    ]);
    const missing = await call(r.port, r.cert.cert, '/validate', { body: '{}' });
    expect([missing.status, JSON.parse(missing.body)]).toMatchObject([
      404,
      { error: { code: 'BW_ERR_ROUTE_NOT_FOUND' } },
    ]);
    const health = await call(r.port, r.cert.cert, '/healthz');
    expect([health.status, JSON.parse(health.body)]).toEqual([200, { status: 'ok' }]);
    r.server.beginShutdown();
    expect((await call(r.port, r.cert.cert, '/healthz')).status).toBe(503);
    const metrics = await call(r.port, r.cert.cert, '/metrics');
    expect(metrics.status).toBe(200);
    for (const name of [
      'breakwater_webhook_reviews_total',
      'breakwater_webhook_patch_duration_seconds_bucket',
      'breakwater_webhook_certificate_expiry_timestamp_seconds',
    ]) {
      expect(metrics.body).toContain(name);
    }
    // Reviews are still answered while shutting down.
    expect(decode(await r.post(review(pod()))).patch).not.toBeNull();
  });
});
