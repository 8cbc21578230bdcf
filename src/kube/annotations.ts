import {
  checkConfigMapName,
  checkEnvName,
  invalid,
  parseUpstreamFlag,
  parseVia,
  type InjectOptions,
} from './options.ts';
import { ANNOTATION_INJECTED, ANNOTATION_OPT_OUT } from './sidecar.ts';

/** Prefix of every annotation breakwater reads. */
export const ANNOTATION_PREFIX = 'breakwater.io/';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A Kubernetes resource quantity (`50m`, `64Mi`, `1.5`, `1e3`): a pod with a bad one would be rejected. */
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;
/** An image reference as the API server checks it: not empty, no whitespace. */
const IMAGE = /^\S+$/;

/** Throws `BW_ERR_MANIFEST_INVALID` unless `value` is a resource quantity. */
export function checkQuantity(what: string, value: string): string {
  if (!QUANTITY.test(value))
    throw invalid(`${what}: expected a quantity such as 50m or 64Mi, got ${JSON.stringify(value)}`);
  return value;
}

/** Throws `BW_ERR_MANIFEST_INVALID` unless `value` can be a container image. */
export function checkImage(what: string, value: string): string {
  if (!IMAGE.test(value) || value.length > 1024) {
    throw invalid(`${what}: expected an image reference, got ${JSON.stringify(value)}`);
  }
  return value;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function bool(what: string, value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalid(`${what}: expected "true" or "false", got ${JSON.stringify(value)}`);
}

/**
 * The pod annotations that override an option of the webhook (each replaces the webhook's flag of
 * the same name, so a pod reads like `breakwater inject` run with those flags). Lists are
 * comma-separated. Documented in docs/kubernetes.md.
 */
const OVERRIDES: Readonly<Record<string, (o: Mutable<InjectOptions>, v: string, what: string) => void>> = {
  'breakwater.io/image': (o, v, w) => void (o.image = checkImage(w, v)),
  'breakwater.io/configmap': (o, v) => void (o.configMap = checkConfigMapName(v)),
  'breakwater.io/via': (o, v) => void (o.via = parseVia(v)),
  'breakwater.io/env': (o, v) => void (o.envNames = list(v).map(checkEnvName)),
  'breakwater.io/upstreams': (o, v) => void (o.upstreams = list(v).map(parseUpstreamFlag)),
  'breakwater.io/bypass': (o, v) => void (o.noProxy = list(v)),
  'breakwater.io/legacy': (o, v, w) => void (o.legacy = bool(w, v)),
  'breakwater.io/cpu': (o, v, w) => void (o.cpuRequest = checkQuantity(w, v)),
  'breakwater.io/memory': (o, v, w) => void (o.memoryRequest = checkQuantity(w, v)),
  'breakwater.io/memory-limit': (o, v, w) => void (o.memoryLimit = checkQuantity(w, v)),
};

/** Every annotation breakwater reads, in the order the docs list them. */
export const ANNOTATIONS: readonly string[] = [
  ANNOTATION_OPT_OUT,
  ANNOTATION_INJECTED,
  ...Object.keys(OVERRIDES),
];

/** Levenshtein distance, for the did-you-mean of an unknown annotation (names are short). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The known annotation at most 2 edits away from `name`, or null. */
function closest(name: string): string | null {
  if (name.length > 64) return null;
  let best: string | null = null;
  let bestDistance = 3;
  for (const known of ANNOTATIONS) {
    const d = distance(name, known);
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return best;
}

/**
 * The options for one pod: `base` with the pod's `breakwater.io/*` annotations applied.
 *
 * @throws BreakwaterError `BW_ERR_MANIFEST_INVALID` on a value the option would refuse as a flag,
 *   and on an unknown `breakwater.io/` annotation (a typo must not silently change the sidecar).
 */
export function podOptions(
  base: InjectOptions,
  annotations: Readonly<Record<string, unknown>>,
): InjectOptions {
  let options: Mutable<InjectOptions> | null = null;
  for (const [name, value] of Object.entries(annotations)) {
    if (!name.startsWith(ANNOTATION_PREFIX) || name === ANNOTATION_OPT_OUT || name === ANNOTATION_INJECTED)
      continue;
    const apply = Object.hasOwn(OVERRIDES, name) ? OVERRIDES[name] : undefined;
    if (apply === undefined) {
      const hint = closest(name);
      throw invalid(`unknown annotation ${name}${hint === null ? '' : ` (did you mean ${hint}?)`}`);
    }
    if (typeof value !== 'string') throw invalid(`annotation ${name}: expected a string`);
    options ??= { ...base };
    apply(options, value.trim(), `annotation ${name}`);
  }
  return options ?? base;
}
