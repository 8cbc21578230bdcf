import { invalid, Via, type InjectOptions, type UpstreamTarget } from './options.ts';
import type { PolicyInfo } from './policy-info.ts';
import {
  capturableUpstreams,
  rewireEnv,
  rewireHosts,
  rewireProxy,
  type AppContainer,
  type RewireContext,
} from './rewire.ts';
import {
  ANNOTATION_CHECKSUM,
  ANNOTATION_INJECTED,
  ANNOTATION_OPT_OUT,
  DEFAULT_HEALTH_PORT,
  DEFAULT_PROXY_PORT,
  MANAGED_SIDECAR_ENV,
  MIN_GRACE_SECONDS,
  policyVolume,
  SIDECAR_NAME,
  sidecarContainer,
  sidecarEnv,
  type SidecarSettings,
} from './sidecar.ts';
import type { PodTree } from './tree.ts';

/** Everything computed once per set of options and shared by all the pods rewritten with it. */
export interface RunContext {
  readonly options: InjectOptions;
  readonly sidecar: SidecarSettings;
  readonly rewire: RewireContext;
  readonly checksum: string | null;
  /** Upstreams `--via hosts` captures (empty for other modes). */
  readonly captured: readonly UpstreamTarget[];
}

/** What the rewriter knows about the pod it is given. */
export interface PodFacts {
  /** `Deployment web`, `Pod web-7d4f-x2x9q`, for messages. */
  readonly label: string;
  /** Pods that run to completion (Job, CronJob): a legacy sidecar would keep them running. */
  readonly runsToCompletion: boolean;
}

/**
 * The context of {@link injectPod} for `options` and what is known of the policy ConfigMap
 * (`info`, null when unknown). Warnings of this step go to `warn`.
 */
export function runContext(
  options: InjectOptions,
  info: PolicyInfo | null,
  warn: (message: string) => void,
): RunContext {
  const upstreams = options.upstreams.length > 0 ? options.upstreams : (info?.upstreams ?? []);
  const rewire: RewireContext = {
    proxyOrigin: `http://127.0.0.1:${info?.proxyPort ?? DEFAULT_PROXY_PORT}`,
    envNames: options.envNames,
    upstreams,
    noProxy: options.noProxy,
    warn,
  };
  let captured: UpstreamTarget[] = [];
  if (options.via === Via.HOSTS) {
    if (options.upstreams.length === 0 && info !== null) {
      for (const name of info.unresolved)
        warn(`upstream ${name}: url is not a literal http URL; pass --upstream`);
    }
    captured = capturableUpstreams(rewire);
  }
  const ports = [...new Set(captured.map((u) => u.port))];
  const sidecar: SidecarSettings = {
    image: options.image,
    legacy: options.legacy,
    healthPort: info?.healthPort ?? DEFAULT_HEALTH_PORT,
    listenProxy: ports.length === 0 ? null : ports.map((p) => `127.0.0.1:${p}`).join(','),
    cpuRequest: options.cpuRequest,
    memoryRequest: options.memoryRequest,
    memoryLimit: options.memoryLimit,
  };
  return { options, sidecar, rewire, checksum: info?.checksum ?? null, captured };
}

function envEntries(container: unknown): unknown[] {
  const env = (container as Record<string, unknown> | null)?.['env'];
  return Array.isArray(env) ? env : [];
}

function placeSidecar<M, S>(ed: PodTree<M, S>, spec: M, where: string, ctx: RunContext): void {
  const { legacy } = ctx.options;
  const listKey = legacy ? 'containers' : 'initContainers';
  const otherKey = legacy ? 'initContainers' : 'containers';
  // Switching between native and legacy moves the sidecar, keeping fields a user added to it.
  let moved: Record<string, unknown> | null = null;
  const other = ed.node(spec, otherKey);
  if (ed.isSeq(other)) {
    const at = ed.indexByName(other, SIDECAR_NAME);
    if (at >= 0) moved = ed.removeAt(other, at) as Record<string, unknown>;
    if (ed.items(other).length === 0 && otherKey === 'initContainers') ed.delete(spec, otherKey);
  }
  const list = ed.seq(spec, listKey, `${where}.spec`, 'containers');
  let at = ed.indexByName(list, SIDECAR_NAME);
  const existing = at < 0 ? moved : ed.js(ed.items(list)[at]);
  // Env entries a user added to the sidecar stay; the ones inject owns are recomputed.
  const kept = envEntries(existing).filter(
    (e) => !MANAGED_SIDECAR_ENV.includes((e as Record<string, unknown> | null)?.['name'] as string),
  );
  const env = [...kept, ...sidecarEnv(ctx.sidecar)];
  const desired = sidecarContainer(ctx.sidecar, env);
  if (at < 0) {
    at = legacy ? ed.items(list).length : 0;
    const extras = Object.entries(moved ?? {}).filter(
      ([k]) => !(k in desired) && k !== 'restartPolicy' && k !== 'env',
    );
    ed.insert(list, at, { ...desired, ...Object.fromEntries(extras) });
  }
  const sidecar = ed.items(list)[at];
  if (!ed.isMap(sidecar)) throw ed.fail(`${where}.spec.${listKey}[${at}]`, 'a map', sidecar);
  for (const [key, value] of Object.entries(desired)) ed.set(sidecar, key, value);
  if (legacy) ed.delete(sidecar, 'restartPolicy');
  if (env.length === 0) ed.delete(sidecar, 'env');
}

/** The application containers of a pod spec (every container but the sidecar); throws when there is none. */
function appContainers<M, S>(ed: PodTree<M, S>, spec: M, where: string): AppContainer<M>[] {
  const containers = ed.node(spec, 'containers');
  if (!ed.isSeq(containers) || ed.items(containers).length === 0) {
    throw ed.fail(`${where}.spec.containers`, 'a non-empty list of containers', containers ?? spec);
  }
  const apps = ed.items(containers).flatMap((c, i) => {
    if (!ed.isMap(c)) throw ed.fail(`${where}.spec.containers[${i}]`, 'a container (a map)', c);
    const app = { map: c, where: `${where}.spec.containers[${i}]`.replace(/^\./, '') };
    return ed.get(c, 'name') === SIDECAR_NAME ? [] : [app];
  });
  if (apps.length === 0)
    throw ed.fail(`${where}.spec.containers`, 'an application container besides the sidecar');
  return apps;
}

/**
 * Adds the breakwater sidecar to one pod (a pod template, or a Pod object: the map holding
 * `metadata` and `spec`) — the one rewrite that both `breakwater inject` (on YAML) and the
 * admission webhook (on JSON) run: sidecar, policy volume, grace period, marker and checksum
 * annotations, and the app rewiring of `ctx.options.via`. Rewriting its own output changes
 * nothing. `where` is the pod's path in its document (`.spec.template`; '' for a Pod).
 *
 * @returns false when the pod is annotated `breakwater.io/inject: "false"` (left alone).
 * @throws BreakwaterError `BW_ERR_MANIFEST_INVALID` on a pod it cannot understand (no containers,
 *   a field of the wrong type) and for `--via hosts` with no upstream to capture.
 */
export function injectPod<M, S>(
  ed: PodTree<M, S>,
  template: M,
  pod: PodFacts,
  where: string,
  ctx: RunContext,
): boolean {
  const annotations = ed.get(template, 'metadata') as { annotations?: Record<string, unknown> } | undefined;
  if (String(annotations?.annotations?.[ANNOTATION_OPT_OUT]) === 'false') return false;
  const spec = ed.node(template, 'spec');
  if (!ed.isMap(spec)) throw ed.fail(`${where}.spec`, 'a pod spec (a map)', spec ?? template);
  const apps = appContainers(ed, spec, where);
  if (ctx.options.legacy && pod.runsToCompletion) {
    ctx.rewire.warn(`${pod.label} runs to completion, but with --legacy the sidecar keeps its pods running`);
  }

  const meta = ed.map(template, 'metadata', where);
  const notes = ed.map(meta, 'annotations', `${where}.metadata`);
  ed.set(notes, ANNOTATION_INJECTED, ctx.options.version);
  if (ctx.checksum !== null) ed.set(notes, ANNOTATION_CHECKSUM, ctx.checksum);

  placeSidecar(ed, spec, where, ctx);
  ed.upsertNamed(ed.seq(spec, 'volumes', `${where}.spec`), policyVolume(ctx.options.configMap));
  const grace = ed.get(spec, 'terminationGracePeriodSeconds');
  if (typeof grace !== 'number' || grace < MIN_GRACE_SECONDS) {
    ed.set(spec, 'terminationGracePeriodSeconds', MIN_GRACE_SECONDS);
  }

  if (ctx.options.via === Via.ENV) rewireEnv(ed, apps, ctx.rewire);
  else if (ctx.options.via === Via.PROXY) rewireProxy(ed, apps, ctx.rewire);
  else if (ctx.captured.length > 0) rewireHosts(ed, spec, apps, ctx.captured, where);
  else {
    throw invalid(
      `--via hosts: no upstream to capture; pass --upstream NAME=http://host:port or the ConfigMap ${ctx.options.configMap}`,
    );
  }
  return true;
}
