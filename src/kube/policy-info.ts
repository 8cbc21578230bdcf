import { createHash } from 'node:crypto';
import { parse, parseAllDocuments } from 'yaml';
import { invalid, upstreamFromUrl, type UpstreamTarget } from './options.ts';
import { DEFAULT_HEALTH_PORT, DEFAULT_PROXY_PORT, POLICY_KEY } from './sidecar.ts';

type Json = Record<string, unknown>;

/** What `inject` learns from the policy ConfigMap. */
export interface PolicyInfo {
  /** sha256 (hex) of the ConfigMap's `data` and `binaryData`, for the `checksum/config` annotation. */
  readonly checksum: string;
  /** Port of the first `listen.proxy` address. Default 15001. */
  readonly proxyPort: number;
  /** Port of `listen.health`. Default 15021. */
  readonly healthPort: number;
  /** Upstreams whose `url` is a literal http(s) URL, in the order written. */
  readonly upstreams: readonly UpstreamTarget[];
  /** Upstream names whose `url` could not be read (e.g. `${ENV}` interpolation). */
  readonly unresolved: readonly string[];
  /** Problems worth telling the user (missing key, policy that does not parse). */
  readonly warnings: readonly string[];
}

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Plain objects of a stream, with the items of `kind: List` documents spread out. */
export function flattenObjects(values: readonly unknown[]): Json[] {
  const out: Json[] = [];
  for (const v of values) {
    if (!isRecord(v)) continue;
    if (v['kind'] === 'List' && Array.isArray(v['items'])) out.push(...flattenObjects(v['items']));
    else out.push(v);
  }
  return out;
}

/** True for a ConfigMap object called `name`. */
export function isConfigMapNamed(v: Json, name: string): boolean {
  const meta = v['metadata'];
  return v['kind'] === 'ConfigMap' && isRecord(meta) && meta['name'] === name;
}

/**
 * Reads `--configmap-file`: a YAML stream holding the ConfigMap called `name`, or, when the file
 * has no ConfigMap at all, a bare policy file (taken as the ConfigMap's `policy.yaml`, which is what
 * `kubectl create configmap NAME --from-file=policy.yaml` makes of it).
 */
export function configMapFromText(text: string, name: string): Json {
  const docs = parseAllDocuments(text);
  const values: unknown[] = [];
  for (const [i, doc] of docs.entries()) {
    const err = doc.errors[0];
    if (err !== undefined) throw invalid(`--configmap-file: document ${i + 1}: ${err.message}`);
    values.push(doc.toJS());
  }
  const objects = flattenObjects(values);
  const maps = objects.filter((v) => v['kind'] === 'ConfigMap');
  if (maps.length === 0) return { kind: 'ConfigMap', metadata: { name }, data: { [POLICY_KEY]: text } };
  const found = maps.find((v) => isConfigMapNamed(v, name));
  if (found === undefined) throw invalid(`--configmap-file: no ConfigMap named ${JSON.stringify(name)}`);
  return found;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isRecord(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, canonical(v[k])]),
  );
}

/** sha256 (hex) over the canonical JSON of a ConfigMap's `data` and `binaryData`. */
export function configMapChecksum(configMap: Json): string {
  const body = JSON.stringify(
    canonical({ data: configMap['data'] ?? {}, binaryData: configMap['binaryData'] ?? {} }),
  );
  return createHash('sha256').update(body).digest('hex');
}

/** Port at the end of a `host:port` address (or the first of a list); null when there is none. */
function portOf(address: unknown): number | null {
  const first: unknown = Array.isArray(address) ? address[0] : address;
  if (typeof first === 'number') return first;
  if (typeof first !== 'string') return null;
  const m = /:(\d{1,5})$/.exec(first);
  return m === null ? null : Number(m[1]);
}

/** Reads ports and upstreams from the policy inside a ConfigMap. */
export function policyInfo(configMap: Json, name: string): PolicyInfo {
  const warnings: string[] = [];
  const upstreams: UpstreamTarget[] = [];
  const unresolved: string[] = [];
  let proxyPort = DEFAULT_PROXY_PORT;
  let healthPort = DEFAULT_HEALTH_PORT;
  const data = configMap['data'];
  const text = isRecord(data) ? data[POLICY_KEY] : undefined;
  if (typeof text !== 'string') {
    warnings.push(
      `ConfigMap ${name} has no data key ${POLICY_KEY}; the sidecar reads /etc/breakwater/${POLICY_KEY}`,
    );
  } else {
    let policy: unknown = null;
    try {
      policy = parse(text);
    } catch (err) {
      warnings.push(
        `ConfigMap ${name}: ${POLICY_KEY} does not parse: ${(err as Error).message.split('\n')[0]}`,
      );
    }
    if (isRecord(policy)) {
      const listen = policy['listen'];
      if (isRecord(listen)) {
        proxyPort = portOf(listen['proxy']) ?? proxyPort;
        healthPort = portOf(listen['health']) ?? healthPort;
      }
      const ups = policy['upstreams'];
      for (const [upName, up] of Object.entries(isRecord(ups) ? ups : {})) {
        const url = isRecord(up) ? up['url'] : undefined;
        const target = typeof url === 'string' ? upstreamFromUrl(upName, url) : null;
        if (target === null) unresolved.push(upName);
        else upstreams.push(target);
      }
    }
  }
  return { checksum: configMapChecksum(configMap), proxyPort, healthPort, upstreams, unresolved, warnings };
}
