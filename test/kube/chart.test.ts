import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { injectManifests } from '../../src/kube/index.ts';
import { Metrics } from '../../src/metrics/index.ts';
import { at, list, options, workload } from './fixtures.ts';
import { parseObjects, streamProblems } from './schema.ts';
import { breakwater, helmEnv, ROOT, run, toolPath, type RunResult } from './tools.ts';

const CHART = join(ROOT, 'charts', 'breakwater');
const PROBES = join(CHART, 'values-health-probes.yaml');
const MONITORING = [
  '--api-versions',
  'monitoring.coreos.com/v1/PrometheusRule',
  '--api-versions',
  'monitoring.coreos.com/v1/PodMonitor',
];

let helm: string;
let env: NodeJS.ProcessEnv;

async function helmRun(args: string[]): Promise<RunResult> {
  return run(helm, args, { env });
}

async function render(args: string[] = [], chart = CHART): Promise<Record<string, unknown>[]> {
  const res = await helmRun(['template', 'bw', chart, '--namespace', 'llm', ...args]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return parseObjects(res.stdout);
}

const find = (objs: readonly unknown[], kind: string, name?: string): unknown =>
  objs.find((o) => at(o, 'kind') === kind && (name === undefined || at(o, 'metadata', 'name') === name));
const POD = ['spec', 'template'] as const;

beforeAll(() => {
  helm = toolPath('helm');
}, 60_000);

beforeEach(() => {
  env = helmEnv();
});

afterEach(() => {
  rmSync(env['HOME']!, { recursive: true, force: true });
});

describe('charts/breakwater', () => {
  it('passes helm lint --strict with defaults and with every switch on', async () => {
    const plain = await helmRun(['lint', '--strict', CHART]);
    expect(plain.stdout).toContain('0 chart(s) failed');
    expect(plain.code).toBe(0);
    const all = ['-f', join(CHART, 'values.yaml'), '-f', PROBES, '--set', 'demo.enabled=true'];
    const full = await helmRun([
      'lint',
      '--strict',
      CHART,
      ...all,
      '--set',
      'prometheusRule.enabled=true',
      '--set',
      'podMonitor.enabled=true',
    ]);
    expect(full.code).toBe(0);
  });

  it('renders valid Kubernetes objects only when every variant is templated', async () => {
    const variants = [
      [],
      ['--set', 'demo.enabled=true', ...MONITORING],
      ['-f', PROBES, '--set', 'demo.enabled=true', '--set', 'sidecar.native=false'],
      [
        '--set',
        'policy.create=false',
        '--set',
        'grafanaDashboard.enabled=false',
        '--set',
        'prometheusRule.enabled=true',
      ],
    ];
    for (const variant of variants) {
      const res = await helmRun(['template', 'bw', CHART, ...variant]);
      expect(res.code, res.stderr).toBe(0);
      expect(streamProblems(res.stdout), variant.join(' ')).toEqual([]);
    }
  });

  it('renders the alert rules and pod monitor when the cluster serves their API', async () => {
    expect(find(await render(), 'PrometheusRule')).toBeUndefined();
    const objs = await render(MONITORING);
    const rule = find(objs, 'PrometheusRule');
    const alerts = list(rule, 'spec', 'groups', 0, 'rules').map((r) => at(r, 'alert'));
    expect(alerts).toEqual([
      'BreakwaterBreakerOpen',
      'BreakwaterDegradedAnswers',
      'BreakwaterConfigReloadFailed',
      'BreakwaterFallbackShareHigh',
      'BreakwaterNotReady',
    ]);
    const share = list(rule, 'spec', 'groups', 0, 'rules').find(
      (r) => at(r, 'alert') === 'BreakwaterFallbackShareHigh',
    );
    expect(String(at(share, 'expr'))).toContain('tier!~"max-gpu|none"');
    expect(String(at(share, 'expr'))).toMatch(/\) > 0\.25$/);
    expect(at(share, 'for')).toBe('15m');
    expect(at(find(objs, 'PodMonitor'), 'spec', 'podMetricsEndpoints', 0, 'port')).toBe('bw-health');
  });

  it('uses only metric names and labels breakwater exports when alerts and dashboard query them', async () => {
    const registry = new Metrics({ processMetrics: false }).registry;
    const rule = find(await render(MONITORING), 'PrometheusRule');
    const dashboard = readFileSync(join(CHART, 'dashboards', 'breakwater.json'), 'utf8');
    const exprs = [
      ...list(rule, 'spec', 'groups', 0, 'rules').map((r) => String(at(r, 'expr'))),
      ...[...dashboard.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map(
        (m) => JSON.parse(`"${m[1]}"`) as string,
      ),
    ];
    expect(exprs.length).toBeGreaterThan(8);
    const targetLabels = ['namespace', 'pod', 'container', 'le'];
    for (const expr of exprs) {
      for (const [, name, selector = ''] of expr.matchAll(
        /\b((?:circuit_breaker|fallback_chain|breakwater)_\w+)(\{[^}]*\})?/g,
      )) {
        const base = name!.replace(/_(bucket|sum|count)$/, '');
        const metric = registry.getSingleMetric(base) as { labelNames?: string[] } | undefined;
        expect(metric, `${name} in ${expr}`).toBeDefined();
        const labels = [...selector.matchAll(/(\w+)\s*[=!~]/g)].map((m) => m[1]!);
        for (const label of labels)
          expect([...targetLabels, ...(metric?.labelNames ?? [])], expr).toContain(label);
      }
    }
  });

  it('applies the original design probe timings when values-health-probes.yaml is added', async () => {
    const objs = await render(['-f', join(CHART, 'values.yaml'), '-f', PROBES, '--set', 'demo.enabled=true']);
    const demo = find(objs, 'Deployment', 'bw-breakwater-demo');
    const sidecar = at(demo, ...POD, 'spec', 'initContainers', 0);
    expect(at(sidecar, 'livenessProbe')).toMatchObject({
      initialDelaySeconds: 30,
      periodSeconds: 30,
      timeoutSeconds: 10,
      failureThreshold: 3,
    });
    expect(at(sidecar, 'readinessProbe')).toMatchObject({
      initialDelaySeconds: 20,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    expect(at(sidecar, 'startupProbe', 'httpGet', 'path')).toBe('/healthz/startup');
    expect(at(demo, ...POD, 'spec', 'terminationGracePeriodSeconds')).toBeGreaterThanOrEqual(30);
  });

  it('renders the same sidecar as breakwater inject when defaults are used', async () => {
    const demo = find(await render(['--set', 'demo.enabled=true']), 'Deployment', 'bw-breakwater-demo');
    const { imagePullPolicy, ...fromChart } = at(demo, ...POD, 'spec', 'initContainers', 0) as Record<
      string,
      unknown
    >;
    expect(imagePullPolicy).toBe('IfNotPresent');
    const injected = parseObjects(
      injectManifests(workload('Deployment'), options({ image: 'breakwater:0.1.0' })).output,
    )[0]!;
    expect(fromChart).toEqual(at(injected, ...POD, 'spec', 'initContainers', 0));
    expect(at(demo, ...POD, 'metadata', 'annotations', 'checksum/config')).toMatch(/^[0-9a-f]{64}$/);
    expect(at(demo, ...POD, 'spec', 'volumes')).toEqual([
      { name: 'breakwater-policy', configMap: { name: 'breakwater-policy' } },
    ]);
  });

  it('renders a policy that breakwater validate accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-chart-'));
    try {
      const files: string[] = [];
      for (const [i, variant] of [[], ['-f', PROBES]].entries()) {
        const cm = find(await render(variant), 'ConfigMap', 'breakwater-policy');
        const file = join(dir, `policy-${i}.yaml`);
        writeFileSync(file, String(at(cm, 'data', 'policy.yaml')));
        files.push(file);
      }
      const res = await breakwater(['validate', ...files]);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets another chart include the sidecar when breakwater is its dependency', async () => {
    const parent = join(env['HOME']!, 'shop');
    mkdirSync(join(parent, 'templates'), { recursive: true });
    cpSync(CHART, join(parent, 'charts', 'breakwater'), { recursive: true });
    writeFileSync(join(parent, 'Chart.yaml'), 'apiVersion: v2\nname: shop\nversion: 1.0.0\n');
    writeFileSync(
      join(parent, 'values.yaml'),
      'breakwater:\n  image:\n    repository: registry.example/breakwater\n',
    );
    writeFileSync(
      join(parent, 'templates', 'deployment.yaml'),
      [
        '{{- $bw := dict "Values" .Values.breakwater "Chart" .Subcharts.breakwater.Chart }}',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: shop',
        'spec:',
        '  selector:',
        '    matchLabels: {app: shop}',
        '  template:',
        '    metadata:',
        '      labels: {app: shop}',
        '      annotations:',
        '        {{- include "breakwater.podAnnotations" $bw | nindent 8 }}',
        '    spec:',
        '      initContainers:',
        '        {{- include "breakwater.sidecar" $bw | nindent 8 }}',
        '      containers:',
        '        - name: app',
        '          image: example/shop:1',
        '      volumes:',
        '        {{- include "breakwater.volume" $bw | nindent 8 }}',
        '',
      ].join('\n'),
    );
    const objs = await render([], parent);
    expect(streamProblems(objs.map((o) => JSON.stringify(o)).join('\n---\n'))).toEqual([]);
    const shop = find(objs, 'Deployment', 'shop');
    expect(at(shop, ...POD, 'spec', 'initContainers', 0, 'image')).toBe('registry.example/breakwater:0.1.0');
    expect(at(shop, ...POD, 'metadata', 'annotations', 'breakwater.io/injected')).toBe('0.1.0');
    expect(find(objs, 'ConfigMap', 'breakwater-policy')).toBeDefined();
  });

  it('ships a dashboard with breaker state, tier usage and first-byte latency panels', () => {
    const dashboard: unknown = JSON.parse(readFileSync(join(CHART, 'dashboards', 'breakwater.json'), 'utf8'));
    const byTitle = new Map(list(dashboard, 'panels').map((p) => [at(p, 'title'), p]));
    const target = (title: string, key: string): unknown => at(byTitle.get(title), 'targets', 0, key);
    expect(target('Breaker state per pod', 'legendFormat')).toContain('{{pod}}');
    expect(target('Answers by tier', 'expr')).toContain('fallback_chain_tier_usage_total');
    expect(target('Upstream first-byte latency', 'expr')).toContain(
      'breakwater_upstream_first_byte_seconds_bucket',
    );
    expect(target('Tokens by tier', 'expr')).toContain('breakwater_tokens_total');
    expect(target('Inter-token latency by tier', 'expr')).toContain('breakwater_inter_token_seconds_bucket');
    expect(target("Tier share of answers (the page's history)", 'expr')).toContain(
      'fallback_chain_tier_usage_total',
    );
  });
});
