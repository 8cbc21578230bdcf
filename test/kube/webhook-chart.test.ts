import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MUTATE_PATHS, WebhookMetrics } from '../../src/kube/index.ts';
import { at, list } from './fixtures.ts';
import { parseObjects, streamProblems } from './schema.ts';
import { helmEnv, ROOT, run, toolPath, type RunResult } from './tools.ts';
import { makeCert } from './webhook-helpers.ts';

type Json = Record<string, unknown>;

const CHART = join(ROOT, 'charts', 'breakwater');
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
const CERT_MANAGER = ['--set', 'webhook.enabled=true', '--set', 'webhook.certManager.enabled=true'];
const SECRET = [
  '--set',
  'webhook.enabled=true',
  '--set',
  'webhook.tls.secretName=webhook-tls',
  '--set',
  `webhook.tls.caBundle=${CA}`,
];
const MONITORING = ['--set', 'prometheusRule.enabled=true', '--set', 'podMonitor.enabled=true'];

let helm: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  helm = toolPath('helm');
}, 60_000);
beforeEach(() => {
  env = helmEnv();
});
afterEach(() => {
  rmSync(env['HOME']!, { recursive: true, force: true });
});

const helmRun = (args: string[]): Promise<RunResult> => run(helm, args, { env });

async function render(args: string[]): Promise<{ objs: Json[]; text: string }> {
  const res = await helmRun(['template', 'bw', CHART, '--namespace', 'llm', ...args]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return { objs: parseObjects(res.stdout), text: res.stdout };
}

const find = (objs: readonly Json[], kind: string, name?: string): Json | undefined =>
  objs.find((o) => o['kind'] === kind && (name === undefined || at(o, 'metadata', 'name') === name));

function must(objs: readonly Json[], kind: string, name?: string): Json {
  const o = find(objs, kind, name);
  if (o === undefined) throw new Error(`no ${kind} ${name ?? ''} rendered`);
  return o;
}

describe('charts/breakwater webhook', () => {
  it('passes helm lint --strict with the webhook on, with cert-manager and with a Secret', async () => {
    for (const mode of [CERT_MANAGER, SECRET]) {
      const res = await helmRun([
        'lint',
        '--strict',
        CHART,
        ...mode,
        ...MONITORING,
        '--set',
        'demo.enabled=true',
      ]);
      expect(res.stdout).toContain('0 chart(s) failed');
      expect(res.code, res.stdout).toBe(0);
    }
  });

  it('renders only valid objects in both certificate modes', async () => {
    const variants = [
      CERT_MANAGER,
      SECRET,
      [...CERT_MANAGER, '--set', 'webhook.podOptIn=false', '--set', 'sidecar.native=false', ...MONITORING],
      [
        ...SECRET,
        '--set',
        'policy.create=false',
        '--set-json',
        'webhook.inject={"via":"proxy","bypass":["auth"]}',
      ],
      [
        ...CERT_MANAGER,
        '--set-json',
        'webhook.certManager.issuerRef={"name":"corp-ca","kind":"ClusterIssuer","group":"cert-manager.io"}',
      ],
    ];
    for (const variant of variants) {
      const { text } = await render(variant);
      expect(streamProblems(text), variant.join(' ')).toEqual([]);
    }
  });

  it('runs two non-root replicas with a read-only root filesystem, a PDB and a Service', async () => {
    const { objs } = await render(CERT_MANAGER);
    const dep = must(objs, 'Deployment', 'bw-breakwater-webhook');
    expect(at(dep, 'spec', 'replicas')).toBe(2);
    const pod = at(dep, 'spec', 'template') as Json;
    const labels = at(pod, 'metadata', 'labels');
    expect(at(pod, 'spec', 'securityContext')).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(at(pod, 'spec', 'automountServiceAccountToken')).toBe(false);
    const container = at(pod, 'spec', 'containers', 0);
    expect(at(container, 'securityContext')).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(at(container, 'readinessProbe', 'httpGet')).toEqual({
      path: '/healthz',
      port: 'webhook',
      scheme: 'HTTPS',
    });
    const pdb = must(objs, 'PodDisruptionBudget', 'bw-breakwater-webhook');
    expect(at(pdb, 'spec', 'minAvailable')).toBe(1);
    expect(at(pdb, 'spec', 'selector', 'matchLabels')).toEqual(labels);
    const svc = must(objs, 'Service', 'bw-breakwater-webhook');
    expect(at(svc, 'spec', 'selector')).toEqual(labels);
    expect(at(svc, 'spec', 'ports', 0)).toMatchObject({ port: 443, targetPort: 'webhook' });
  });

  it('registers both webhooks with failurePolicy Ignore, a short timeout and the namespace selectors', async () => {
    const { objs } = await render(CERT_MANAGER);
    const config = must(objs, 'MutatingWebhookConfiguration');
    const hooks = list(config, 'webhooks') as Json[];
    expect(hooks.map((h) => at(h, 'clientConfig', 'service', 'path'))).toEqual(Object.keys(MUTATE_PATHS));
    for (const hook of hooks) {
      expect(hook).toMatchObject({
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
      });
      expect(hook['timeoutSeconds']).toBeLessThanOrEqual(10);
      expect(at(hook, 'clientConfig', 'service')).toMatchObject({
        name: 'bw-breakwater-webhook',
        namespace: 'llm',
        port: 443,
      });
      expect(hook['rules']).toEqual([
        {
          operations: ['CREATE'],
          apiGroups: [''],
          apiVersions: ['v1'],
          resources: ['pods'],
          scope: 'Namespaced',
        },
      ]);
      expect(at(hook, 'namespaceSelector', 'matchExpressions')).toContainEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', 'llm'],
      });
    }
    expect(at(hooks[0], 'namespaceSelector', 'matchExpressions', 0)).toEqual({
      key: 'breakwater.io/inject',
      operator: 'In',
      values: ['enabled'],
    });
    expect(at(hooks[1], 'namespaceSelector', 'matchExpressions', 0)).toEqual({
      key: 'breakwater.io/inject',
      operator: 'NotIn',
      values: ['enabled', 'disabled'],
    });
    expect(String(at(hooks[1], 'matchConditions', 0, 'expression'))).toContain(
      "object.metadata.annotations['breakwater.io/inject'] == 'true'",
    );
    const single = must(
      (await render([...CERT_MANAGER, '--set', 'webhook.podOptIn=false'])).objs,
      'MutatingWebhookConfiguration',
    );
    expect(list(single, 'webhooks')).toHaveLength(1);
  });

  it('lets cert-manager issue the certificate and inject the CA when certManager is enabled', async () => {
    const { objs } = await render(CERT_MANAGER);
    const config = must(objs, 'MutatingWebhookConfiguration');
    const from = String(at(config, 'metadata', 'annotations', 'cert-manager.io/inject-ca-from'));
    const [ns, certName] = from.split('/');
    expect(ns).toBe('llm');
    const cert = must(objs, 'Certificate', certName);
    expect(list(cert, 'spec', 'dnsNames')).toContain('bw-breakwater-webhook.llm.svc');
    for (const hook of list(config, 'webhooks')) expect(at(hook, 'clientConfig', 'caBundle')).toBeUndefined();
    const dep = must(objs, 'Deployment', 'bw-breakwater-webhook');
    const tls = (list(dep, 'spec', 'template', 'spec', 'volumes') as Json[]).find((v) => v['name'] === 'tls');
    expect(at(tls, 'secret', 'secretName')).toBe(at(cert, 'spec', 'secretName'));
    const issuer = must(objs, 'Issuer', String(at(cert, 'spec', 'issuerRef', 'name')));
    const ca = must(objs, 'Certificate', String(at(issuer, 'spec', 'ca', 'secretName')));
    expect(at(ca, 'spec', 'isCA')).toBe(true);
    const own = (
      await render([
        ...CERT_MANAGER,
        '--set',
        'webhook.certManager.issuerRef.name=corp-ca',
        '--set',
        'webhook.certManager.issuerRef.kind=ClusterIssuer',
      ])
    ).objs;
    expect(find(own, 'Issuer')).toBeUndefined();
    expect(at(must(own, 'Certificate'), 'spec', 'issuerRef')).toEqual({
      name: 'corp-ca',
      kind: 'ClusterIssuer',
    });
  });

  it('takes the Secret and caBundle from values, and says which is missing without them', async () => {
    const { objs } = await render(SECRET);
    expect(find(objs, 'Certificate')).toBeUndefined();
    const config = must(objs, 'MutatingWebhookConfiguration');
    expect(at(config, 'metadata', 'annotations')).toBeUndefined();
    for (const hook of list(config, 'webhooks')) expect(at(hook, 'clientConfig', 'caBundle')).toBe(CA);
    const dep = must(objs, 'Deployment', 'bw-breakwater-webhook');
    expect(list(dep, 'spec', 'template', 'spec', 'volumes')).toContainEqual({
      name: 'tls',
      secret: { secretName: 'webhook-tls' },
    });
    const noSecret = await helmRun(['template', 'bw', CHART, '--set', 'webhook.enabled=true']);
    expect([noSecret.code, noSecret.stderr]).toEqual([
      1,
      expect.stringContaining('webhook.tls.secretName is required'),
    ]);
    const noCa = await helmRun([
      'template',
      'bw',
      CHART,
      '--set',
      'webhook.enabled=true',
      '--set',
      'webhook.tls.secretName=x',
    ]);
    expect(noCa.stderr).toContain('webhook.tls.caBundle (base64 PEM of the CA) is required');
  });

  it('alerts and scrapes with metric names the webhook exports', async () => {
    const { objs } = await render([...CERT_MANAGER, ...MONITORING]);
    const registry = new WebhookMetrics({ processMetrics: false }).registry;
    const rules = list(must(objs, 'PrometheusRule'), 'spec', 'groups', 0, 'rules') as Json[];
    const webhookRules = rules.filter((r) => String(r['alert']).startsWith('BreakwaterWebhook'));
    expect(webhookRules.map((r) => r['alert'])).toEqual([
      'BreakwaterWebhookFailedOpen',
      'BreakwaterWebhookRejectedReviews',
      'BreakwaterWebhookCertificateExpiring',
    ]);
    for (const rule of webhookRules) {
      for (const [name] of String(rule['expr']).matchAll(/\bbreakwater_webhook_\w+/g)) {
        expect(registry.getSingleMetric(name), name).toBeDefined();
      }
    }
    const endpoints = list(must(objs, 'PodMonitor'), 'spec', 'podMetricsEndpoints');
    expect(endpoints).toContainEqual(
      expect.objectContaining({ port: 'webhook', path: '/metrics', scheme: 'https' }),
    );
  });

  it('starts the webhook with the arguments the Deployment gives it', async () => {
    const { objs } = await render(CERT_MANAGER);
    const dep = must(objs, 'Deployment', 'bw-breakwater-webhook');
    const policy = String(at(must(objs, 'ConfigMap', 'breakwater-policy'), 'data', 'policy.yaml'));
    const dir = mkdtempSync(join(env['HOME']!, 'files-'));
    const cert = await makeCert();
    const files: Record<string, string | Buffer> = {
      '/etc/breakwater-webhook/tls.crt': cert.cert,
      '/etc/breakwater-webhook/tls.key': cert.key,
      '/etc/breakwater/policy.yaml': policy,
    };
    const args = (list(dep, 'spec', 'template', 'spec', 'containers', 0, 'args') as string[]).map((a) => {
      if (!(a in files)) return a;
      const local = join(dir, a.replaceAll('/', '_'));
      writeFileSync(local, files[a]!);
      return local;
    });
    expect(args[0]).toBe('webhook');
    const child = spawn(
      process.execPath,
      [join(ROOT, 'dist', 'main.js'), ...args, '--listen', '127.0.0.1:0', '--shutdown-delay', '0s'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exit = once(child, 'exit');
    try {
      let listening = false;
      for await (const line of createInterface({ input: child.stdout })) {
        if ((JSON.parse(line) as Json)['msg'] === 'webhook listening') {
          listening = true;
          break;
        }
      }
      expect(listening).toBe(true);
      child.kill('SIGTERM');
      expect((await exit)[0]).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
