import { isMap, isSeq, parseAllDocuments, type Document, type YAMLMap } from 'yaml';
import { DocEditor } from './ast.ts';
import { invalid, Via, type InjectOptions, type UpstreamTarget } from './options.ts';
import {
  configMapFromText,
  flattenObjects,
  isConfigMapNamed,
  policyInfo,
  type PolicyInfo,
} from './policy-info.ts';
import { capturableUpstreams, rewireEnv, rewireHosts, rewireProxy, type RewireContext } from './rewire.ts';
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
import { labelOf, podTargets, type PodTarget } from './workload.ts';

/** Result of {@link injectManifests}. */
export interface InjectResult {
  /** The manifests, with every workload injected and every other document byte-for-byte as given. */
  readonly output: string;
  /** Things the user should look at (env vars left alone, NO_PROXY entries dropped, …). */
  readonly warnings: readonly string[];
  /** Pod templates that carry the sidecar in the output. */
  readonly podTemplates: number;
}

/** Everything computed once per run and shared by all pod templates. */
interface RunContext {
  readonly options: InjectOptions;
  readonly sidecar: SidecarSettings;
  readonly rewire: RewireContext;
  readonly checksum: string | null;
  /** Upstreams `--via hosts` captures (empty for other modes). */
  readonly captured: readonly UpstreamTarget[];
}

function lineCounter(src: string): (offset: number) => number {
  const starts = [0];
  for (let i = src.indexOf('\n'); i >= 0; i = src.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/**
 * Whether the document writes lists under a key without indenting them (`key:\n- a`, kubectl's
 * style) so that an edited document keeps the style it came in.
 */
function indentsSequences(text: string): boolean {
  const m = /^( *)[^\s#-][^\n]*:[ \t]*\n(?:[ \t]*(?:#[^\n]*)?\n)*( *)- /m.exec(text);
  return m === null || m[2]!.length > m[1]!.length;
}

/** Whether flow collections are written `{ a: 1 }` (yaml's default) rather than `{a: 1}`. */
function padsFlow(text: string): boolean {
  return !/(?::|^\s*-)[ \t]+[[{][^\s\]}]/m.test(text);
}

function envEntries(container: unknown): unknown[] {
  const env = (container as Record<string, unknown> | null)?.['env'];
  return Array.isArray(env) ? env : [];
}

function placeSidecar(ed: DocEditor, spec: YAMLMap, where: string, ctx: RunContext): void {
  const { legacy } = ctx.options;
  const listKey = legacy ? 'containers' : 'initContainers';
  const otherKey = legacy ? 'initContainers' : 'containers';
  // Switching between native and legacy moves the sidecar, keeping fields a user added to it.
  let moved: Record<string, unknown> | null = null;
  const other = spec.get(otherKey, true);
  if (isSeq(other)) {
    const at = ed.indexByName(other, SIDECAR_NAME);
    if (at >= 0) moved = ed.removeAt(other, at) as Record<string, unknown>;
    if (other.items.length === 0 && otherKey === 'initContainers') ed.delete(spec, otherKey);
  }
  const list = ed.seq(spec, listKey, `${where}.spec`, 'containers');
  let at = ed.indexByName(list, SIDECAR_NAME);
  const existing = at < 0 ? moved : ed.js(list.items[at]);
  // Env entries a user added to the sidecar stay; the ones inject owns are recomputed.
  const kept = envEntries(existing).filter(
    (e) => !MANAGED_SIDECAR_ENV.includes((e as Record<string, unknown> | null)?.['name'] as string),
  );
  const env = [...kept, ...sidecarEnv(ctx.sidecar)];
  const desired = sidecarContainer(ctx.sidecar, env);
  if (at < 0) {
    at = legacy ? list.items.length : 0;
    const extras = Object.entries(moved ?? {}).filter(
      ([k]) => !(k in desired) && k !== 'restartPolicy' && k !== 'env',
    );
    ed.insert(list, at, { ...desired, ...Object.fromEntries(extras) });
  }
  const sidecar = list.items[at];
  if (!isMap(sidecar)) throw ed.fail(`${where}.spec.${listKey}[${at}]`, 'a map', sidecar);
  for (const [key, value] of Object.entries(desired)) ed.set(sidecar, key, value);
  if (legacy) ed.delete(sidecar, 'restartPolicy');
  if (env.length === 0) ed.delete(sidecar, 'env');
}

function injectPod(
  ed: DocEditor,
  template: YAMLMap,
  target: PodTarget,
  where: string,
  ctx: RunContext,
): boolean {
  const annotations = ed.get(template, 'metadata') as { annotations?: Record<string, unknown> } | undefined;
  if (String(annotations?.annotations?.[ANNOTATION_OPT_OUT]) === 'false') return false;
  const spec = template.get('spec', true);
  if (!isMap(spec)) throw ed.fail(`${where}.spec`, 'a pod spec (a map)', spec ?? template);
  const containers = spec.get('containers', true);
  if (!isSeq(containers) || containers.items.length === 0) {
    throw ed.fail(`${where}.spec.containers`, 'a non-empty list of containers', containers ?? spec);
  }
  const apps = containers.items.flatMap((c, i) => {
    if (!isMap(c)) throw ed.fail(`${where}.spec.containers[${i}]`, 'a container (a map)', c);
    const app = { map: c, where: `${where}.spec.containers[${i}]`.replace(/^\./, '') };
    return ed.js(c.get('name', true)) === SIDECAR_NAME ? [] : [app];
  });
  if (apps.length === 0)
    throw ed.fail(`${where}.spec.containers`, 'an application container besides the sidecar');
  if (ctx.options.legacy && target.runsToCompletion) {
    ctx.rewire.warn(
      `${target.label} runs to completion, but with --legacy the sidecar keeps its pods running`,
    );
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

/** Offset where a document begins in the stream (its `---` line, when it has one). */
function startOf(doc: Document): number {
  return doc.range?.[0] ?? 0;
}

function pathLabel(path: readonly (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}

function runContext(options: InjectOptions, info: PolicyInfo | null, warnings: string[]): RunContext {
  const warn = (m: string): void => void warnings.push(m);
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

/**
 * Adds the breakwater sidecar to every workload of a multi-document YAML stream (Pod, Deployment,
 * StatefulSet, DaemonSet, Job, CronJob, also inside `kind: List`). Documents it does not change are
 * returned byte for byte; changed ones keep their comments and key order. Running it on its own
 * output returns that output unchanged.
 *
 * @throws BreakwaterError `BW_ERR_MANIFEST_INVALID` on YAML that does not parse (naming document and
 *   line), on a workload without containers, and on options that cannot work (e.g. `--via hosts`
 *   with no known upstream).
 */
export function injectManifests(input: string, options: InjectOptions): InjectResult {
  const lineOf = lineCounter(input);
  const docs: Document[] = [...parseAllDocuments(input)];
  const values = docs.map((doc, i) => {
    const err = doc.errors[0];
    if (err !== undefined) {
      const at = err.linePos ? ` line ${err.linePos[0].line}, column ${err.linePos[0].col}:` : '';
      const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw invalid(`document ${i + 1},${at} ${what}`);
    }
    return doc.toJS({ maxAliasCount: -1 }) as unknown;
  });

  const warnings: string[] = [];
  const configMap =
    options.configMapText !== null
      ? configMapFromText(options.configMapText, options.configMap)
      : (flattenObjects(values).find((v) => isConfigMapNamed(v, options.configMap)) ?? null);
  const info = configMap === null ? null : policyInfo(configMap, options.configMap);
  if (info !== null) warnings.push(...info.warnings);
  const ctx = runContext(options, info, warnings);

  let podTemplates = 0;
  const pieces = docs.map((doc, i) => {
    const start = i === 0 ? 0 : startOf(doc);
    const end = i + 1 < docs.length ? startOf(docs[i + 1]!) : input.length;
    const text = input.slice(start, end);
    const targets = podTargets(values[i]);
    if (targets.length === 0) return text;
    const ed = new DocEditor(doc, `document ${i + 1} (${labelOf(values[i])})`, lineOf);
    for (const target of targets) {
      const where = pathLabel(target.path);
      const template = target.path.length === 0 ? doc.contents : doc.getIn(target.path, true);
      if (!isMap(template)) throw ed.fail(where || 'document', 'a pod template (a map)', template);
      const prefix = { ...ctx.rewire, warn: (m: string) => void warnings.push(`${ed.label}: ${m}`) };
      if (injectPod(ed, template, target, where, { ...ctx, rewire: prefix })) podTemplates++;
    }
    if (!ed.changed) return text;
    return doc.toString({
      lineWidth: 0,
      indentSeq: indentsSequences(text),
      flowCollectionPadding: padsFlow(text),
    });
  });
  return { output: pieces.join(''), warnings, podTemplates };
}
