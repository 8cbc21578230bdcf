import { INJECT_DEFAULTS, type InjectOptions } from '../../src/kube/index.ts';

/** Inject options with every default, overridable per test. */
export function options(overrides: Partial<InjectOptions> = {}): InjectOptions {
  return {
    ...INJECT_DEFAULTS,
    image: 'breakwater:test',
    version: '9.9.9',
    configMapText: null,
    envNames: [],
    upstreams: [],
    noProxy: [],
    legacy: false,
    ...overrides,
  };
}

/** A pod spec body (indented for a Deployment's template) with one app container. */
const POD_SPEC = `
      containers:
        - name: app
          image: example/app:1
          env:
            - name: OPENAI_BASE_URL
              value: http://max-serve:8000/v1
`;

/** One workload of `kind` with a single app container calling MAX through OPENAI_BASE_URL. */
export function workload(kind: string): string {
  const podSpec = POD_SPEC.replace(/^ {4}/gm, '');
  switch (kind) {
    case 'Pod':
      return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:${podSpec}`;
    case 'Job':
      return `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      restartPolicy: Never${POD_SPEC}`;
    case 'CronJob':
      return (
        `apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: web\nspec:\n  schedule: "*/5 * * * *"\n` +
        `  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure` +
        POD_SPEC.replace(/^/gm, '    ').replace(/^ +$/gm, '')
      );
    default: {
      const extra = kind === 'StatefulSet' ? '  serviceName: web\n' : '';
      return (
        `apiVersion: apps/v1\nkind: ${kind}\nmetadata:\n  name: web\nspec:\n${extra}` +
        `  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n` +
        `    spec:${POD_SPEC}`
      );
    }
  }
}

/** The policy ConfigMap the fixtures refer to. */
export const POLICY_CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: breakwater-policy
data:
  policy.yaml: |
    upstreams:
      max-gpu:
        url: http://max-serve:8000
      ollama-cpu:
        url: http://ollama:11434
`;

/** The value at `path` inside parsed YAML; undefined when a step is missing. */
export function at(value: unknown, ...path: readonly (string | number)[]): unknown {
  let v = value;
  for (const key of path)
    v = typeof v === 'object' && v !== null ? (v as Record<string | number, unknown>)[key] : undefined;
  return v;
}

/** The list at `path`; throws when there is none, so a test fails with the path in its message. */
export function list(value: unknown, ...path: readonly (string | number)[]): unknown[] {
  const v = at(value, ...path);
  if (!Array.isArray(v)) throw new Error(`no list at ${path.join('.')}`);
  return v;
}

/** A container's env as `{ NAME: value }` (literal values only). */
export function envOf(container: unknown): Record<string, unknown> {
  const env: Record<string, unknown> = {};
  for (const e of list(container, 'env')) env[String(at(e, 'name'))] = at(e, 'value');
  return env;
}
