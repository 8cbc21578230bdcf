import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { injectManifests, parseUpstreamFlag } from '../../src/kube/index.ts';
import { noProxyMatches, rewriteUrl } from '../../src/kube/rewire.ts';
import { at, envOf, list, options, POLICY_CONFIGMAP, workload } from './fixtures.ts';
import { parseObjects, streamProblems } from './schema.ts';

/** The pod spec of the first document of the injected output. */
function podSpec(src: string, overrides = {}): unknown {
  return at(parseObjects(injectManifests(src, options(overrides)).output)[0], 'spec', 'template', 'spec');
}

const app = (spec: unknown): unknown => at(spec, 'containers', 0);
const sidecarOf = (spec: unknown): unknown => at(spec, 'initContainers', 0);

const withEnv = (entries: string): string =>
  workload('Deployment').replace(
    '            - name: OPENAI_BASE_URL\n              value: http://max-serve:8000/v1\n',
    entries,
  );

describe('inject --via env', () => {
  it('points upstream URLs at the sidecar keeping their path when the app sets them', () => {
    const src = withEnv(
      [
        '            - name: OPENAI_BASE_URL',
        '              value: http://max-serve:8000/v1',
        '            - name: OLLAMA_HOST',
        '              value: ollama:11434',
        '            - name: OPENAI_API_BASE',
        '              value: https://max-serve.llm.svc:8443/v1/?x=1',
        '            - name: MY_LLM',
        '              value: http://llm:9000/api/',
        '            - name: UNRELATED',
        '              value: http://other:80/v1',
        '',
      ].join('\n'),
    );
    const env = envOf(app(podSpec(src, { envNames: ['MY_LLM'] })));
    expect(env).toEqual({
      OPENAI_BASE_URL: 'http://127.0.0.1:15001/v1',
      OLLAMA_HOST: 'http://127.0.0.1:15001',
      OPENAI_API_BASE: 'http://127.0.0.1:15001/v1/?x=1',
      MY_LLM: 'http://127.0.0.1:15001/api/',
      UNRELATED: 'http://other:80/v1',
    });
  });

  it('adds OPENAI_BASE_URL when no app container names an upstream', () => {
    const src = withEnv('            - name: OTHER\n              value: x\n');
    const result = injectManifests(src, options());
    expect(envOf(app(at(parse(result.output), 'spec', 'template', 'spec')))).toEqual({
      OTHER: 'x',
      OPENAI_BASE_URL: 'http://127.0.0.1:15001/v1',
    });
    expect(result.warnings.join('\n')).toContain('added OPENAI_BASE_URL');
  });

  it('warns and leaves the entry when the URL comes from valueFrom', () => {
    const src = withEnv(
      '            - name: OPENAI_BASE_URL\n              valueFrom:\n                configMapKeyRef: {name: cfg, key: url}\n',
    );
    const result = injectManifests(src, options());
    expect(result.warnings.join('\n')).toMatch(/containers\[0\]: env OPENAI_BASE_URL is not a literal URL/);
    const env = at(app(at(parse(result.output), 'spec', 'template', 'spec')), 'env');
    expect(env).toEqual([
      { name: 'OPENAI_BASE_URL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'url' } } },
    ]);
  });

  it('follows listen.proxy of the policy when the ConfigMap moves the port', () => {
    const cm = POLICY_CONFIGMAP.replace(
      '    upstreams:',
      '    listen:\n      proxy: 127.0.0.1:18080\n      health: 0.0.0.0:18021\n    upstreams:',
    );
    const spec = podSpec(workload('Deployment'), { configMapText: cm });
    expect(envOf(app(spec))['OPENAI_BASE_URL']).toBe('http://127.0.0.1:18080/v1');
    expect(at(sidecarOf(spec), 'readinessProbe', 'httpGet', 'port')).toBe(18021);
  });

  it('keeps a rewritten URL when it already points at the sidecar', () => {
    expect(rewriteUrl('http://127.0.0.1:15001/v1', 'http://127.0.0.1:15001')).toBe(
      'http://127.0.0.1:15001/v1',
    );
    expect(rewriteUrl('not a url', 'http://127.0.0.1:15001')).toBeNull();
    expect(rewriteUrl('$(HOST)', 'http://127.0.0.1:15001')).toBeNull();
  });
});

describe('inject --via proxy', () => {
  it('sets HTTP_PROXY, NO_PROXY without the upstreams and NODE_USE_ENV_PROXY', () => {
    const src = withEnv('            - name: NO_PROXY\n              value: redis,.svc.cluster.local\n');
    const upstreams = [parseUpstreamFlag('max=http://max-serve.llm.svc.cluster.local:8000')];
    const result = injectManifests(src, options({ via: 'proxy', upstreams, noProxy: ['metrics'] }));
    const env = envOf(app(at(parse(result.output), 'spec', 'template', 'spec')));
    expect(env).toMatchObject({
      HTTP_PROXY: 'http://127.0.0.1:15001',
      http_proxy: 'http://127.0.0.1:15001',
      NODE_USE_ENV_PROXY: '1',
    });
    const entries = String(env['NO_PROXY']).split(',');
    expect(entries).toEqual(expect.arrayContaining(['redis', 'localhost', '127.0.0.1', 'metrics']));
    expect(entries).not.toContain('.svc.cluster.local');
    expect(env['no_proxy']).toBe(env['NO_PROXY']);
    expect(result.warnings.join('\n')).toContain('dropped .svc.cluster.local from NO_PROXY');
  });

  it('keeps the upstream hosts of the ConfigMap out of NO_PROXY', () => {
    const src = withEnv('            - name: no_proxy\n              value: ollama,max-serve:8000\n');
    const env = envOf(app(podSpec(`${src}---\n${POLICY_CONFIGMAP}`, { via: 'proxy' })));
    expect(env['NO_PROXY']).toBe('localhost,127.0.0.1,::1,kubernetes.default.svc');
  });

  it('matches NO_PROXY entries the way clients do', () => {
    expect(noProxyMatches('.svc', 'max.llm.svc')).toBe(true);
    expect(noProxyMatches('*.local', 'a.local')).toBe(true);
    expect(noProxyMatches('max-serve:8000', 'max-serve')).toBe(true);
    expect(noProxyMatches('serve', 'max-serve')).toBe(false);
    expect(noProxyMatches('*', 'anything')).toBe(true);
  });
});

describe('inject --via hosts', () => {
  it('maps the ConfigMap upstreams to 127.0.0.1 and lets the sidecar listen on their ports', () => {
    const out = injectManifests(
      `${workload('Deployment')}---\n${POLICY_CONFIGMAP}`,
      options({ via: 'hosts' }),
    ).output;
    const spec = at(parseObjects(out)[0], 'spec', 'template', 'spec');
    expect(at(spec, 'hostAliases')).toEqual([{ ip: '127.0.0.1', hostnames: ['max-serve', 'ollama'] }]);
    expect(envOf(sidecarOf(spec))).toEqual({
      BREAKWATER_LISTEN_PROXY: '127.0.0.1:8000,127.0.0.1:11434',
      BREAKWATER_RESOLVER: 'dns',
    });
    expect(envOf(app(spec))['OPENAI_BASE_URL']).toBe('http://max-serve:8000/v1');
    expect(at(spec, 'securityContext')).toBeUndefined();
    expect(streamProblems(out)).toEqual([]);
  });

  it('takes --upstream flags over the ConfigMap and allows ports below 1024 by sysctl', () => {
    const upstreams = [parseUpstreamFlag('max=http://max-serve')];
    const spec = podSpec(`${workload('Deployment')}---\n${POLICY_CONFIGMAP}`, { via: 'hosts', upstreams });
    expect(at(spec, 'hostAliases')).toEqual([{ ip: '127.0.0.1', hostnames: ['max-serve'] }]);
    expect(at(spec, 'securityContext', 'sysctls')).toEqual([
      { name: 'net.ipv4.ip_unprivileged_port_start', value: '80' },
    ]);
  });

  it('merges with an existing 127.0.0.1 alias when the pod has one', () => {
    const src = workload('Deployment').replace(
      '    spec:\n      containers:',
      '    spec:\n      hostAliases:\n        - ip: 127.0.0.1\n          hostnames: [local.test]\n      containers:',
    );
    const spec = podSpec(src, { via: 'hosts', upstreams: [parseUpstreamFlag('m=http://max-serve:8000')] });
    expect(at(spec, 'hostAliases')).toEqual([{ ip: '127.0.0.1', hostnames: ['local.test', 'max-serve'] }]);
  });

  it('fails when an app container listens on an upstream port', () => {
    const src = workload('Deployment').replace(
      '          image: example/app:1',
      '          image: example/app:1\n          ports:\n            - containerPort: 8000',
    );
    expect(() =>
      injectManifests(
        src,
        options({ via: 'hosts', upstreams: [parseUpstreamFlag('m=http://max-serve:8000')] }),
      ),
    ).toThrow(/containers\[0\]\.ports: expected no port of upstream m \(8000\)/);
  });

  it('fails when no upstream is known', () => {
    expect(() => injectManifests(workload('Deployment'), options({ via: 'hosts' }))).toThrow(
      /--via hosts: no upstream to capture/,
    );
  });
});

describe('inject --legacy', () => {
  it('puts the sidecar last in containers without restartPolicy', () => {
    const spec = podSpec(workload('Deployment'), { legacy: true });
    expect(at(spec, 'initContainers')).toBeUndefined();
    expect(list(spec, 'containers').map((c) => at(c, 'name'))).toEqual(['app', 'breakwater']);
    expect(at(spec, 'containers', 1)).not.toHaveProperty('restartPolicy');
    expect(at(spec, 'containers', 1, 'startupProbe', 'httpGet', 'path')).toBe('/healthz/startup');
  });

  it('moves the sidecar when switching between native and legacy', () => {
    const native = injectManifests(workload('Deployment'), options()).output;
    const legacy = injectManifests(native, options({ legacy: true })).output;
    expect(legacy).toBe(injectManifests(workload('Deployment'), options({ legacy: true })).output);
    const back = injectManifests(legacy, options()).output;
    expect(back).toBe(native);
  });

  it('warns that a Job would not finish when the sidecar is a plain container', () => {
    const result = injectManifests(workload('Job'), options({ legacy: true }));
    expect(result.warnings.join('\n')).toContain('with --legacy the sidecar keeps its pods running');
  });
});
