import { isIP } from 'node:net';
import { BUILTIN_ENV_NAMES, type UpstreamTarget } from './options.ts';
import type { PodTree } from './tree.ts';

/** An application container of the pod being injected. */
export interface AppContainer<M> {
  readonly map: M;
  /** `spec.template.spec.containers[0]`, for messages. */
  readonly where: string;
}

/** What the rewiring needs to know, computed once per run. */
export interface RewireContext {
  /** `http://127.0.0.1:15001` (the port follows the policy's `listen.proxy`). */
  readonly proxyOrigin: string;
  readonly envNames: readonly string[];
  readonly upstreams: readonly UpstreamTarget[];
  readonly noProxy: readonly string[];
  readonly warn: (message: string) => void;
}

/**
 * `NO_PROXY` entries for `--via proxy`: loopback and the Kubernetes API. Cluster-internal
 * suffixes are kept out on purpose: upstreams are usually addressed as `max-serve` or
 * `max-serve.ns.svc…`, and any suffix entry could send them around the sidecar.
 */
export const BASE_NO_PROXY: readonly string[] = ['localhost', '127.0.0.1', '::1', 'kubernetes.default.svc'];

/** Sets env var `name` to the literal `value` (dropping a `valueFrom`), appending it when absent. */
function setEnv<M, S>(ed: PodTree<M, S>, env: S, name: string, value: string): void {
  ed.upsertNamed(env, { name, value });
}

/** Literal value of env var `name`: a string, `null` when it comes from `valueFrom`, undefined when absent. */
function envValue<M, S>(ed: PodTree<M, S>, env: S | undefined, name: string): string | null | undefined {
  if (env === undefined) return undefined;
  const at = ed.indexByName(env, name);
  if (at < 0) return undefined;
  const v = ed.js(ed.items(env)[at]) as Record<string, unknown>;
  return typeof v['value'] === 'string' ? v['value'] : v['valueFrom'] === undefined ? '' : null;
}

function envOf<M, S>(ed: PodTree<M, S>, app: AppContainer<M>): S | undefined {
  const env = ed.node(app.map, 'env');
  if (env === undefined || env === null || (!ed.isSeq(env) && ed.js(env) === null)) return undefined;
  if (!ed.isSeq(env)) throw ed.fail(`${app.where}.env`, 'a list', env);
  return env;
}

/**
 * Points a URL-valued env var at the sidecar, keeping its path and query:
 * `http://max-serve:8000/v1` → `http://127.0.0.1:15001/v1`; `ollama:11434` → `http://127.0.0.1:15001`.
 * Null when the value is not an http(s) URL or `host:port`.
 */
export function rewriteUrl(value: string, proxyOrigin: string): string | null {
  // `$(VAR)` is expanded by the kubelet from other env vars: the host is not known here.
  if (value.includes('$(')) return null;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  let url: URL;
  try {
    url = new URL(hasScheme ? value : `http://${value}`);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return null;
  // URL() turns a missing path into `/`; keep the value's own spelling (`…:8000` stays slash-less).
  const authorityAndPath = hasScheme ? value.replace(/^[^:]+:\/\//, '') : value;
  const path = /^[^/?#]*\//.test(authorityAndPath) ? url.pathname : '';
  return `${proxyOrigin}${path}${url.search}`;
}

/** `--via env`: rewrites upstream URL env vars; adds `OPENAI_BASE_URL` when the pod has none. */
export function rewireEnv<M, S>(
  ed: PodTree<M, S>,
  apps: readonly AppContainer<M>[],
  ctx: RewireContext,
): void {
  const names = [...new Set([...BUILTIN_ENV_NAMES, ...ctx.envNames])];
  let found = false;
  for (const app of apps) {
    const env = envOf(ed, app);
    for (const name of names) {
      const value = envValue(ed, env, name);
      if (value === undefined) continue;
      found = true;
      const next = value === null ? null : rewriteUrl(value, ctx.proxyOrigin);
      if (next === null || env === undefined) {
        ctx.warn(`${app.where}: env ${name} is not a literal URL; point it at ${ctx.proxyOrigin} yourself`);
      } else {
        setEnv(ed, env, name, next);
      }
    }
  }
  if (found) return;
  const url = `${ctx.proxyOrigin}/v1`;
  for (const app of apps) setEnv(ed, ed.seq(app.map, 'env', app.where), 'OPENAI_BASE_URL', url);
  ctx.warn(`no ${names.join(', ')} in the app containers: added OPENAI_BASE_URL=${url}`);
}

/** True when a `NO_PROXY` entry would exempt `hostname` from the proxy (curl/Node semantics, broadly). */
export function noProxyMatches(entry: string, hostname: string): boolean {
  const e = entry
    .trim()
    .toLowerCase()
    .replace(/:\d+$/, '')
    .replace(/^\*?\./, '.');
  if (e === '*') return true;
  if (e.startsWith('.')) return hostname.endsWith(e) || hostname === e.slice(1);
  return hostname === e || hostname.endsWith(`.${e}`);
}

/** `--via proxy`: HTTP_PROXY to the sidecar, NO_PROXY without the upstreams, NODE_USE_ENV_PROXY=1. */
export function rewireProxy<M, S>(
  ed: PodTree<M, S>,
  apps: readonly AppContainer<M>[],
  ctx: RewireContext,
): void {
  const hosts = ctx.upstreams.map((u) => u.hostname);
  for (const app of apps) {
    const env = envOf(ed, app);
    const previous = envValue(ed, env, 'HTTP_PROXY');
    if (typeof previous === 'string' && previous !== '' && previous !== ctx.proxyOrigin) {
      ctx.warn(`${app.where}: replaced HTTP_PROXY=${previous} with ${ctx.proxyOrigin}`);
    }
    const existing = ['NO_PROXY', 'no_proxy'].flatMap((n) => (envValue(ed, env, n) ?? '').split(','));
    const entries = [...new Set([...existing, ...BASE_NO_PROXY, ...ctx.noProxy].map((e) => e.trim()))];
    const kept = entries.filter((e) => e !== '' && !hosts.some((h) => noProxyMatches(e, h)));
    for (const e of entries) {
      if (e !== '' && !kept.includes(e))
        ctx.warn(`${app.where}: dropped ${e} from NO_PROXY: it covers an upstream`);
    }
    const seq = env ?? ed.seq(app.map, 'env', app.where);
    setEnv(ed, seq, 'HTTP_PROXY', ctx.proxyOrigin);
    setEnv(ed, seq, 'http_proxy', ctx.proxyOrigin);
    setEnv(ed, seq, 'NO_PROXY', kept.join(','));
    setEnv(ed, seq, 'no_proxy', kept.join(','));
    // Node's fetch (and, in recent releases, http) honours HTTP_PROXY only with this set.
    setEnv(ed, seq, 'NODE_USE_ENV_PROXY', '1');
  }
}

/** The upstreams `--via hosts` can capture: plain http, addressed by name. */
export function capturableUpstreams(ctx: RewireContext): UpstreamTarget[] {
  return ctx.upstreams.filter((u) => {
    if (u.protocol !== 'http:') {
      ctx.warn(`upstream ${u.name}: ${u.protocol}// cannot be captured by hostAliases; left out`);
      return false;
    }
    if (isIP(u.hostname) !== 0) {
      ctx.warn(`upstream ${u.name}: ${u.hostname} is an IP address; hostAliases cannot capture it`);
      return false;
    }
    return true;
  });
}

/**
 * `--via hosts`: hostAliases mapping the upstream names to 127.0.0.1, after checking that no app
 * container listens on a port the sidecar must take. Ports below 1024 need the pod sysctl
 * `net.ipv4.ip_unprivileged_port_start` since the sidecar runs as non-root without capabilities.
 */
export function rewireHosts<M, S>(
  ed: PodTree<M, S>,
  spec: M,
  apps: readonly AppContainer<M>[],
  upstreams: readonly UpstreamTarget[],
  where: string,
): void {
  const ports = new Set(upstreams.map((u) => u.port));
  for (const app of apps) {
    const declared = ed.get(app.map, 'ports');
    for (const p of Array.isArray(declared) ? declared : []) {
      const port = (p as Record<string, unknown> | null)?.['containerPort'];
      if (typeof port === 'number' && ports.has(port)) {
        const up = upstreams.find((u) => u.port === port)!;
        throw ed.fail(
          `${app.where}.ports`,
          `no port of upstream ${up.name} (${port}): --via hosts makes the sidecar listen on it`,
        );
      }
    }
  }
  const aliases = ed.seq(spec, 'hostAliases', `${where}.spec`);
  const entries = ed.items(aliases);
  const at = entries.findIndex((a) => ed.isMap(a) && ed.get(a, 'ip') === '127.0.0.1');
  const current = at < 0 ? [] : ed.get(entries[at] as M, 'hostnames');
  const hostnames = [
    ...new Set([
      ...(Array.isArray(current) ? (current as string[]) : []),
      ...upstreams.map((u) => u.hostname),
    ]),
  ];
  if (at < 0) ed.insert(aliases, -1, { ip: '127.0.0.1', hostnames });
  else ed.set(entries[at] as M, 'hostnames', hostnames);
  const lowest = Math.min(...ports);
  if (lowest < 1024) {
    const sc = ed.map(spec, 'securityContext', `${where}.spec`);
    const sysctls = ed.seq(sc, 'sysctls', `${where}.spec.securityContext`);
    const name = 'net.ipv4.ip_unprivileged_port_start';
    const at2 = ed.indexByName(sysctls, name);
    const item = at2 < 0 ? null : (ed.js(ed.items(sysctls)[at2]) as Record<string, unknown>);
    const have = item === null ? Infinity : Number(item['value']);
    if (!(have <= lowest)) ed.upsertNamed(sysctls, { name, value: String(lowest) });
  }
}
