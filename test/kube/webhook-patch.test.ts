import { afterEach, describe, expect, it } from 'vitest';
import { injectManifests, type InjectOptions } from '../../src/kube/index.ts';
import { at, options, POLICY_CONFIGMAP } from './fixtures.ts';
import { parseObjects, schemaProblems } from './schema.ts';
import { applyPatch, decode, review, startRig, type Rig } from './webhook-helpers.ts';
import { defaulted, podOf, SHAPES, VARIANTS, workloadObject, type Shape } from './webhook-pods.ts';

type Json = Record<string, unknown>;

let rig: Rig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

async function start(inject: InjectOptions, configMapText: string | null = null): Promise<Rig> {
  rig = await startRig(inject, { configMapText });
  return rig;
}

/** The pod the API server stores when the workload went through `breakwater inject` first. */
function injectedPod(shape: Shape, workload: Json, inject: InjectOptions): Json {
  const [out] = parseObjects(injectManifests(JSON.stringify(workload), inject).output);
  return defaulted(podOf(shape, out));
}

/** The pod the API server stores when the webhook patched it: defaults, patch, defaults again. */
async function admitted(
  r: Rig,
  pod: Json,
  path = '/mutate',
): Promise<{ pod: Json; warnings: readonly string[] }> {
  const answer = decode(await r.post(review(pod), path));
  expect(answer.allowed).toBe(true);
  expect(answer.patchType).toBe('JSONPatch');
  expect(answer.patch).not.toBeNull();
  return { pod: defaulted(applyPatch(pod, answer.patch!)), warnings: answer.warnings };
}

describe('webhook /mutate', () => {
  for (const shape of SHAPES) {
    for (const variant of VARIANTS) {
      it(`patches a ${shape} pod (${variant}) into what inject makes of it`, async () => {
        const r = await start(options());
        const workload = workloadObject(shape, variant);
        const input = defaulted(podOf(shape, workload));
        const { pod, warnings } = await admitted(r, input);
        expect(pod).toEqual(injectedPod(shape, workload, options()));
        expect(schemaProblems(pod)).toEqual([]);
        expect(warnings).toEqual([]);
        const initNames = (at(pod, 'spec', 'initContainers') as Json[]).map((c) => c['name']);
        expect(initNames).toEqual(variant === 'plain' ? ['breakwater'] : ['breakwater', 'migrate']);
        expect(at(pod, 'spec', 'terminationGracePeriodSeconds')).toBe(30);
        const again = decode(await r.post(review(pod)));
        expect([again.allowed, again.patch, again.warnings]).toEqual([true, null, []]);
      });
    }
  }

  it('sends small patches: one add for the sidecar and in-place edits of the app', async () => {
    const r = await start(options());
    const input = defaulted(podOf('Deployment', workloadObject('Deployment', 'init-and-volumes')));
    const answer = decode(await r.post(review(input)));
    expect(answer.patch).toEqual([
      { op: 'add', path: '/metadata/annotations/breakwater.io~1injected', value: '9.9.9' },
      { op: 'replace', path: '/spec/containers/0/env/1/value', value: 'http://127.0.0.1:15001/v1' },
      { op: 'add', path: '/spec/initContainers/0', value: expect.objectContaining({ name: 'breakwater' }) },
      {
        op: 'add',
        path: '/spec/volumes/2',
        value: { name: 'breakwater-policy', configMap: { name: 'breakwater-policy' } },
      },
      { op: 'replace', path: '/spec/terminationGracePeriodSeconds', value: 30 },
    ]);
  });

  it('matches inject for --via proxy and --via hosts when both read the same ConfigMap', async () => {
    for (const via of ['proxy', 'hosts'] as const) {
      const inject = options({ via, configMapText: POLICY_CONFIGMAP });
      const r = await start(inject, POLICY_CONFIGMAP);
      const workload = workloadObject('Deployment', 'init-and-volumes');
      const { pod } = await admitted(r, defaulted(podOf('Deployment', workload)));
      expect(pod).toEqual(injectedPod('Deployment', workload, inject));
      expect(at(pod, 'metadata', 'annotations', 'checksum/config')).toMatch(/^[0-9a-f]{64}$/);
      expect(schemaProblems(pod)).toEqual([]);
      await r.close();
      rig = null;
    }
  });

  it('applies per-pod annotations as inject applies the flags of the same name', async () => {
    const r = await start(options(), POLICY_CONFIGMAP);
    const workload = workloadObject('StatefulSet', 'plain');
    const notes = at(workload, 'spec', 'template', 'metadata', 'annotations') as Json;
    Object.assign(notes, {
      'breakwater.io/via': 'proxy',
      'breakwater.io/image': 'registry.example/breakwater:2',
      'breakwater.io/configmap': 'search-policy',
      'breakwater.io/bypass': 'metrics.internal, auth',
      'breakwater.io/upstreams': 'max-gpu=http://max-serve:8000',
      'breakwater.io/cpu': '100m',
      'breakwater.io/memory': '96Mi',
      'breakwater.io/memory-limit': '512Mi',
      'breakwater.io/legacy': 'true',
    });
    const { pod } = await admitted(r, defaulted(podOf('StatefulSet', workload)));
    const flags = options({
      via: 'proxy',
      image: 'registry.example/breakwater:2',
      configMap: 'search-policy',
      noProxy: ['metrics.internal', 'auth'],
      upstreams: [{ name: 'max-gpu', hostname: 'max-serve', port: 8000, protocol: 'http:' }],
      cpuRequest: '100m',
      memoryRequest: '96Mi',
      memoryLimit: '512Mi',
      legacy: true,
    });
    expect(pod).toEqual(injectedPod('StatefulSet', workload, flags));
    expect((at(pod, 'spec', 'containers') as Json[]).map((c) => c['name'])).toEqual(['app', 'breakwater']);
    expect(at(pod, 'spec', 'volumes')).toEqual([
      { name: 'breakwater-policy', configMap: { name: 'search-policy' } },
    ]);
    expect(schemaProblems(pod)).toEqual([]);
  });

  it('leaves a pod that inject already rewrote alone', async () => {
    const r = await start(options());
    const [injected] = parseObjects(
      injectManifests(JSON.stringify(workloadObject('Job', 'plain')), options()).output,
    );
    const answer = decode(await r.post(review(defaulted(podOf('Job', injected)))));
    expect([answer.allowed, answer.patch, answer.warnings]).toEqual([true, null, []]);
    const withOtherOptions = await startRig(options({ image: 'other:1', via: 'proxy' }));
    try {
      const other = decode(await withOtherOptions.post(review(defaulted(podOf('Job', injected)))));
      expect(other.patch).toBeNull();
    } finally {
      await withOtherOptions.close();
    }
    expect(await r.metrics.text()).toMatch(
      /breakwater_webhook_reviews_total\{result="already_injected"\} 1\n/,
    );
  });

  it('injects on /mutate/annotated only the pods annotated breakwater.io/inject: "true"', async () => {
    const r = await start(options());
    const pod = defaulted(podOf('Pod', workloadObject('Pod', 'plain')));
    expect(decode(await r.post(review(pod), '/mutate/annotated')).patch).toBeNull();
    (pod['metadata'] as { annotations: Json }).annotations['breakwater.io/inject'] = 'true';
    const { pod: patched } = await admitted(r, pod, '/mutate/annotated');
    expect(at(patched, 'spec', 'initContainers', 0, 'name')).toBe('breakwater');
    const text = await r.metrics.text();
    expect(text).toMatch(/result="skipped"\} 1\n/);
    expect(text).toMatch(/result="injected"\} 1\n/);
  });

  it('skips a pod annotated breakwater.io/inject: "false" in an opted-in namespace', async () => {
    const r = await start(options());
    const pod = defaulted(podOf('Pod', workloadObject('Pod', 'plain')));
    (pod['metadata'] as { annotations: Json }).annotations['breakwater.io/inject'] = 'false';
    const answer = decode(await r.post(review(pod)));
    expect([answer.allowed, answer.patch, answer.warnings]).toEqual([true, null, []]);
  });

  it('passes the rewriter warnings on when the pod is injected', async () => {
    const r = await start(options());
    const pod = defaulted(podOf('Pod', workloadObject('Pod', 'plain')));
    const app = at(pod, 'spec', 'containers', 0) as Json;
    app['env'] = [{ name: 'OPENAI_BASE_URL', valueFrom: { configMapKeyRef: { name: 'llm', key: 'url' } } }];
    const { warnings } = await admitted(r, pod);
    expect(warnings).toEqual([
      'breakwater: spec.containers[0]: env OPENAI_BASE_URL is not a literal URL; point it at http://127.0.0.1:15001 yourself',
    ]);
  });
});
