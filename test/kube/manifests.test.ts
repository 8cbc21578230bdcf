import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { at, list } from './fixtures.ts';
import { parseObjects, schemaProblems } from './schema.ts';
import { breakwater, ROOT, run, toolPath } from './tools.ts';

const K8S = join(ROOT, 'k8s');

let rendered: Record<string, unknown>[];

beforeAll(async () => {
  const res = await run(toolPath('kubectl'), ['kustomize', K8S]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  rendered = parseObjects(res.stdout);
}, 60_000);

const idOf = (o: unknown): string => `${String(at(o, 'kind'))}/${String(at(o, 'metadata', 'name'))}`;
const byId = (id: string): unknown => rendered.find((o) => idOf(o) === id);
const readYaml = (file: string): unknown => parse(readFileSync(join(K8S, file), 'utf8'));
const policyText = (): string => String(at(readYaml('policy-configmap.yaml'), 'data', 'policy.yaml'));

describe('k8s/', () => {
  it('lists every manifest in kustomization.yaml when the folder is read', () => {
    const kustomization = readYaml('kustomization.yaml');
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect(list(kustomization, 'resources').map(String).sort()).toEqual(files.sort());
    expect(at(kustomization, 'namespace')).toBe('breakwater-demo');
  });

  it('renders with kubectl kustomize into schema-valid objects of the demo namespace', () => {
    expect(rendered.map(idOf).sort()).toEqual(
      [
        'ConfigMap/breakwater-policy',
        'Deployment/demo-app',
        'Deployment/max-serve',
        'Deployment/ollama',
        'Namespace/breakwater-demo',
        'Service/max-serve',
        'Service/ollama',
      ].sort(),
    );
    for (const obj of rendered) {
      expect(schemaProblems(obj), idOf(obj)).toEqual([]);
      if (obj['kind'] !== 'Namespace')
        expect(at(obj, 'metadata', 'namespace'), idOf(obj)).toBe('breakwater-demo');
    }
  });

  it('keeps app.yaml as breakwater inject writes it when re-injected with the documented flags', async () => {
    const file = join(K8S, 'app.yaml');
    const args = [
      'inject',
      '-f',
      'k8s/app.yaml',
      '--configmap-file',
      'k8s/policy-configmap.yaml',
      '--image',
      'breakwater:0.1.0',
    ];
    const res = await breakwater(args);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    // On a difference: regenerate with `node src/main.ts <args> > k8s/app.yaml.new`, review, replace.
    expect(res.stdout).toBe(readFileSync(file, 'utf8'));
  });

  it('runs the demo app with a native sidecar mounting the policy directory', () => {
    const spec = at(byId('Deployment/demo-app'), 'spec', 'template', 'spec');
    const sidecar = at(spec, 'initContainers', 0);
    expect(sidecar).toMatchObject({ name: 'breakwater', restartPolicy: 'Always' });
    expect(at(sidecar, 'volumeMounts')).toEqual([
      { name: 'breakwater-policy', mountPath: '/etc/breakwater', readOnly: true },
    ]);
    expect(at(spec, 'containers', 0, 'env')).toContainEqual({
      name: 'OPENAI_BASE_URL',
      value: 'http://127.0.0.1:15001/v1',
    });
  });

  it('meets the restricted Pod Security level in every pod', () => {
    const pods = rendered
      .filter((o) => o['kind'] === 'Deployment')
      .map((d) => at(d, 'spec', 'template', 'spec'));
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      const containers = [
        ...((at(pod, 'initContainers') as unknown[] | undefined) ?? []),
        ...list(pod, 'containers'),
      ];
      for (const c of containers) {
        const name = String(at(c, 'name'));
        expect(at(c, 'securityContext', 'allowPrivilegeEscalation'), name).toBe(false);
        expect(at(c, 'securityContext', 'capabilities', 'drop'), name).toEqual(['ALL']);
        const nonRoot =
          at(c, 'securityContext', 'runAsNonRoot') ?? at(pod, 'securityContext', 'runAsNonRoot');
        expect(nonRoot, name).toBe(true);
        const seccomp =
          at(c, 'securityContext', 'seccompProfile', 'type') ??
          at(pod, 'securityContext', 'seccompProfile', 'type');
        expect(seccomp, name).toBe('RuntimeDefault');
      }
    }
  });

  it('serves every upstream of the policy from a mock Service listening on all interfaces', () => {
    const upstreams = Object.values(at(parse(policyText()), 'upstreams') as Record<string, unknown>);
    expect(upstreams.length).toBeGreaterThan(1);
    for (const upstream of upstreams) {
      const { hostname, port } = new URL(String(at(upstream, 'url')));
      const service = byId(`Service/${hostname}`);
      expect(list(service, 'spec', 'ports').map((p) => at(p, 'port'))).toContain(Number(port));
      const args = list(byId(`Deployment/${hostname}`), 'spec', 'template', 'spec', 'containers', 0, 'args');
      expect(args[0]).toBe('mock');
      expect(args[args.indexOf('--host') + 1]).toBe('0.0.0.0');
      expect(args[args.indexOf('--port') + 1]).toBe(port);
    }
  });

  it('holds a policy that breakwater validate accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-k8s-'));
    try {
      const file = join(dir, 'policy.yaml');
      writeFileSync(file, policyText());
      const res = await breakwater(['validate', file]);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
