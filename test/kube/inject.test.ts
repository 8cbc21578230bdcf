import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hasCode, ErrorCode } from '../../src/errors/index.ts';
import { injectManifests } from '../../src/kube/index.ts';
import { at, list, options, POLICY_CONFIGMAP, workload } from './fixtures.ts';
import { parseObjects, schemaProblems, streamProblems } from './schema.ts';

const POD_PATHS: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

function injectOne(src: string, overrides = {}): unknown {
  return parse(injectManifests(src, options(overrides)).output);
}

const TEMPLATE = ['spec', 'template'] as const;

describe('injectManifests', () => {
  for (const kind of Object.keys(POD_PATHS)) {
    it(`adds a native sidecar, volume and marker when the document is a ${kind}`, () => {
      const result = injectManifests(workload(kind), options());
      expect(result.podTemplates).toBe(1);
      const pod = at(parse(result.output), ...POD_PATHS[kind]!);
      const sidecar = at(pod, 'spec', 'initContainers', 0);
      expect(sidecar).toMatchObject({
        name: 'breakwater',
        image: 'breakwater:test',
        restartPolicy: 'Always',
        startupProbe: { httpGet: { path: '/healthz/startup', port: 15021 } },
        readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 } },
        livenessProbe: { httpGet: { path: '/healthz/live', port: 15021 } },
        resources: { requests: { cpu: '50m', memory: '96Mi' } },
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 65532,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
      });
      expect(at(sidecar, 'volumeMounts')).toEqual([
        { name: 'breakwater-policy', mountPath: '/etc/breakwater', readOnly: true },
      ]);
      expect(JSON.stringify(sidecar)).not.toContain('subPath');
      expect(at(pod, 'spec', 'volumes')).toContainEqual({
        name: 'breakwater-policy',
        configMap: { name: 'breakwater-policy' },
      });
      expect(at(pod, 'metadata', 'annotations', 'breakwater.io/injected')).toBe('9.9.9');
      expect(list(pod, 'spec', 'containers').map((c) => at(c, 'name'))).toEqual(['app']);
      expect(streamProblems(result.output)).toEqual([]);
    });
  }

  it('passes other documents through byte for byte when the stream mixes kinds', () => {
    const service =
      '# the service\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n    ports:\n    -   port: 80   # odd spacing\n';
    const secret = '---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: "1"}\n';
    const custom =
      '---\napiVersion: example.com/v1\nkind: Deployment\nmetadata:\n  name: not-apps\nspec: {}\n';
    const src = `${service}---\n${workload('Deployment')}${secret}${custom}`;
    const out = injectManifests(src, options()).output;
    expect(out.startsWith(service)).toBe(true);
    expect(out.endsWith(`${secret}${custom}`)).toBe(true);
    expect(out).toContain('breakwater.io/injected');
  });

  it('changes nothing when run on its own output', () => {
    const src = `${workload('Deployment')}---\n${workload('CronJob')}---\n${POLICY_CONFIGMAP}`;
    for (const via of ['env', 'proxy', 'hosts'] as const) {
      for (const legacy of [false, true]) {
        const once = injectManifests(src, options({ via, legacy })).output;
        expect(injectManifests(once, options({ via, legacy })).output).toBe(once);
      }
    }
  });

  it('keeps comments and key order when the workload is rewritten', () => {
    const src = workload('Deployment')
      .replace('metadata:\n  name: web', 'metadata:\n  name: web # the web tier')
      .replace('      containers:', '      # app first\n      containers:');
    const out = injectManifests(src, options()).output;
    expect(out).toContain('name: web # the web tier');
    expect(out).toContain('# app first\n');
    expect(Object.keys(parse(out) as object)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(out.indexOf('initContainers:')).toBeLessThan(out.indexOf('containers:\n        - name: app'));
  });

  it('keeps kubectl-style unindented lists when the input uses them', () => {
    const src = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  selector:',
      '    matchLabels:',
      '      app: web',
      '  template:',
      '    metadata:',
      '      labels:',
      '        app: web',
      '    spec:',
      '      containers:',
      '      - name: app',
      '        image: example/app:1',
      '',
    ].join('\n');
    const out = injectManifests(src, options()).output;
    expect(out).toContain('initContainers:\n      - name: breakwater');
    expect(out).toContain('containers:\n      - name: app');
  });

  it('adds checksum/config when the ConfigMap is in the input stream', () => {
    const src = `${workload('Deployment')}---\n${POLICY_CONFIGMAP}`;
    const first = parseObjects(injectManifests(src, options()).output)[0];
    const checksum = at(first, ...TEMPLATE, 'metadata', 'annotations', 'checksum/config');
    expect(checksum).toMatch(/^[0-9a-f]{64}$/);
    const edited = src.replace('ollama:11434', 'ollama:11435');
    const again = parseObjects(injectManifests(edited, options()).output)[0];
    expect(at(again, ...TEMPLATE, 'metadata', 'annotations', 'checksum/config')).not.toBe(checksum);
  });

  it('takes the checksum from --configmap-file when given, also as a bare policy file', () => {
    const fromMap = injectOne(workload('Deployment'), { configMapText: POLICY_CONFIGMAP });
    const policy = at(parse(POLICY_CONFIGMAP), 'data', 'policy.yaml') as string;
    const fromPolicy = injectOne(workload('Deployment'), { configMapText: policy });
    const sum = (o: unknown): unknown => at(o, ...TEMPLATE, 'metadata', 'annotations', 'checksum/config');
    expect(sum(fromMap)).toMatch(/^[0-9a-f]{64}$/);
    expect(sum(fromPolicy)).toBe(sum(fromMap));
  });

  it('leaves checksum/config out when no ConfigMap is known', () => {
    const out = injectOne(workload('Deployment'));
    expect(at(out, ...TEMPLATE, 'metadata', 'annotations')).not.toHaveProperty('checksum/config');
  });

  it('raises terminationGracePeriodSeconds to 30 when it is lower and keeps a higher one', () => {
    const withGrace = (s: number): string =>
      workload('Deployment').replace(
        '    spec:\n      containers:',
        `    spec:\n      terminationGracePeriodSeconds: ${s}\n      containers:`,
      );
    const grace = (o: unknown): unknown => at(o, ...TEMPLATE, 'spec', 'terminationGracePeriodSeconds');
    expect(grace(injectOne(withGrace(10)))).toBe(30);
    expect(grace(injectOne(withGrace(120)))).toBe(120);
    expect(grace(injectOne(workload('Deployment')))).toBe(30);
  });

  it('injects every workload of a kind: List', () => {
    const stream = {
      apiVersion: 'v1',
      kind: 'List',
      items: [parse(workload('Deployment')), parse(workload('Job'))],
    };
    const result = injectManifests(JSON.stringify(stream), options());
    expect(result.podTemplates).toBe(2);
    const items = list(parse(result.output), 'items');
    for (const item of items) {
      expect(at(item, ...TEMPLATE, 'spec', 'initContainers', 0, 'name')).toBe('breakwater');
      expect(schemaProblems(item as Record<string, unknown>)).toEqual([]);
    }
  });

  it('leaves a pod template alone when it is annotated breakwater.io/inject: "false"', () => {
    const src = workload('Deployment').replace(
      '      labels:\n        app: web',
      '      annotations:\n        breakwater.io/inject: "false"\n      labels:\n        app: web',
    );
    expect(injectManifests(src, options()).output).toBe(src);
  });

  it('updates the sidecar in place when the image changes', () => {
    const once = injectManifests(workload('Deployment'), options()).output;
    const twice: unknown = parse(injectManifests(once, options({ image: 'breakwater:2' })).output);
    const init = list(twice, ...TEMPLATE, 'spec', 'initContainers');
    expect(init).toHaveLength(1);
    expect(at(init, 0, 'image')).toBe('breakwater:2');
  });

  it('fails naming document and line when the YAML does not parse', () => {
    const src = `${POLICY_CONFIGMAP}---\nkind: Deployment\nmetadata:\n  name: [oops\n`;
    let error: unknown;
    try {
      injectManifests(src, options());
    } catch (err) {
      error = err;
    }
    expect(hasCode(error, ErrorCode.MANIFEST_INVALID)).toBe(true);
    expect((error as Error).message).toMatch(/^document 2, line \d+, column \d+:/);
  });

  it('fails naming the path when a workload has no containers', () => {
    const src =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers: []\n';
    expect(() => injectManifests(src, options())).toThrow(
      /document 1 \(Deployment web\), line 8: spec\.template\.spec\.containers: expected a non-empty list/,
    );
  });

  it('returns an empty output when the input is empty', () => {
    expect(injectManifests('', options()).output).toBe('');
  });
});
