import { at } from './fixtures.ts';

type Json = Record<string, unknown>;

/** Workload kinds whose pods the webhook sees, as `inject` handles them. */
export const SHAPES = ['Deployment', 'StatefulSet', 'Job', 'CronJob', 'Pod'] as const;
export type Shape = (typeof SHAPES)[number];

/** `plain`: one app container; `init-and-volumes`: an init container, volumes and mounts, a short grace period. */
export const VARIANTS = ['plain', 'init-and-volumes'] as const;
export type Variant = (typeof VARIANTS)[number];

/** Where the pod template sits in each kind. */
export const TEMPLATE_PATH: Readonly<Record<Shape, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  Pod: [],
};

function podTemplate(shape: Shape, variant: Variant): Json {
  const app: Json = {
    name: 'app',
    image: 'example/app:1',
    env: [
      { name: 'LOG_FORMAT', value: 'json' },
      { name: 'OPENAI_BASE_URL', value: 'http://max-serve:8000/v1' },
    ],
  };
  const spec: Json = { containers: [app] };
  if (shape === 'Job') spec['restartPolicy'] = 'Never';
  if (shape === 'CronJob') spec['restartPolicy'] = 'OnFailure';
  if (variant === 'init-and-volumes') {
    spec['initContainers'] = [{ name: 'migrate', image: 'example/migrate:1', command: ['migrate', 'up'] }];
    spec['volumes'] = [
      { name: 'data', emptyDir: {} },
      { name: 'certs', secret: { secretName: 'web-certs' } },
    ];
    app['volumeMounts'] = [
      { name: 'data', mountPath: '/data' },
      { name: 'certs', mountPath: '/certs', readOnly: true },
    ];
    spec['terminationGracePeriodSeconds'] = 10;
  }
  return { metadata: { labels: { app: 'web' }, annotations: { 'example.com/team': 'search' } }, spec };
}

/** A workload object of `shape` (what a user would `kubectl apply`). */
export function workloadObject(shape: Shape, variant: Variant): Json {
  const template = podTemplate(shape, variant);
  const meta = { name: 'web', namespace: 'ai-platform' };
  switch (shape) {
    case 'Pod':
      return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { ...meta, ...(template['metadata'] as Json) },
        spec: template['spec'],
      };
    case 'Job':
      return { apiVersion: 'batch/v1', kind: 'Job', metadata: meta, spec: { template } };
    case 'CronJob':
      return {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: meta,
        spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } },
      };
    default: {
      const selector = { matchLabels: { app: 'web' } };
      const extra = shape === 'StatefulSet' ? { serviceName: 'web' } : {};
      return { apiVersion: 'apps/v1', kind: shape, metadata: meta, spec: { ...extra, selector, template } };
    }
  }
}

const OWNERS: Readonly<Record<Shape, { apiVersion: string; kind: string; name: string } | null>> = {
  Deployment: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4f8b9c6d' },
  StatefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web' },
  Job: { apiVersion: 'batch/v1', kind: 'Job', name: 'web' },
  CronJob: { apiVersion: 'batch/v1', kind: 'Job', name: 'web-29461380' },
  Pod: null,
};

/**
 * The Pod a controller creates from `workload` (a workload of `shape`, injected or not): the
 * template's metadata and spec, a generated name and the owner reference; a bare Pod as it is.
 */
export function podOf(shape: Shape, workload: unknown): Json {
  const template = structuredClone(at(workload, ...TEMPLATE_PATH[shape])) as Json;
  const owner = OWNERS[shape];
  if (owner === null) return template;
  const meta = (template['metadata'] as Json | undefined) ?? {};
  const name = shape === 'StatefulSet' ? { name: 'web-0' } : { generateName: `${owner.name}-` };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...name,
      namespace: 'ai-platform',
      ...meta,
      ownerReferences: [
        { ...owner, uid: '6c0e9ff1-2a4f-4d5e-9a43-0d3d8e0c2b11', controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: template['spec'],
  };
}

function fill(target: Json, defaults: Json): void {
  for (const [k, v] of Object.entries(defaults)) if (target[k] === undefined) target[k] = v;
}

/**
 * `pod` with some of the defaults the API server fills in before admission webhooks run, and
 * again on their output (only missing fields: a set value is kept).
 */
export function defaulted(pod: Json): Json {
  const out = structuredClone(pod);
  const spec = out['spec'] as Json;
  fill(spec, {
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    securityContext: {},
    terminationGracePeriodSeconds: 30,
    serviceAccountName: 'default',
    enableServiceLinks: true,
  });
  for (const list of ['initContainers', 'containers']) {
    for (const c of (spec[list] as Json[] | undefined) ?? []) {
      fill(c, {
        imagePullPolicy: 'IfNotPresent',
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      });
    }
  }
  return out;
}
