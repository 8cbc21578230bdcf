type Json = Record<string, unknown>;

/** A pod template found in a document: where it is and what holds it. */
export interface PodTarget {
  /** Path from the document root to the map holding the pod's `metadata` and `spec`. */
  readonly path: readonly (string | number)[];
  /** `Deployment web`, for messages. */
  readonly label: string;
  /** Pods that run to completion (Job, CronJob): a legacy sidecar would keep them running. */
  readonly runsToCompletion: boolean;
}

interface KindInfo {
  /** API groups the kind is accepted from (`''` is the core group). */
  readonly groups: readonly string[];
  readonly templatePath: readonly string[];
  readonly runsToCompletion: boolean;
}

/** Workload kinds `inject` rewrites; every other document passes through unchanged. */
const KINDS: Readonly<Record<string, KindInfo>> = {
  Pod: { groups: [''], templatePath: [], runsToCompletion: false },
  Deployment: { groups: ['apps'], templatePath: ['spec', 'template'], runsToCompletion: false },
  StatefulSet: { groups: ['apps'], templatePath: ['spec', 'template'], runsToCompletion: false },
  DaemonSet: { groups: ['apps'], templatePath: ['spec', 'template'], runsToCompletion: false },
  Job: { groups: ['batch'], templatePath: ['spec', 'template'], runsToCompletion: true },
  CronJob: {
    groups: ['batch'],
    templatePath: ['spec', 'jobTemplate', 'spec', 'template'],
    runsToCompletion: true,
  },
};

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function groupOf(apiVersion: unknown): string | null {
  if (typeof apiVersion !== 'string') return null;
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The kind and name of an object, e.g. `Deployment web`. */
export function labelOf(v: unknown): string {
  if (!isRecord(v)) return 'not an object';
  const kind = typeof v['kind'] === 'string' ? v['kind'] : 'object';
  const meta = v['metadata'];
  const name = isRecord(meta) && typeof meta['name'] === 'string' ? ` ${meta['name']}` : '';
  return `${kind}${name}`;
}

/** Pod templates of one document's plain value; `kind: List` items are searched too. */
export function podTargets(value: unknown, base: readonly (string | number)[] = []): PodTarget[] {
  if (!isRecord(value)) return [];
  const kind = value['kind'];
  if (kind === 'List' && Array.isArray(value['items'])) {
    return value['items'].flatMap((item, i) => podTargets(item, [...base, 'items', i]));
  }
  const info = typeof kind === 'string' && Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  const group = groupOf(value['apiVersion']);
  if (info === undefined || group === null || !info.groups.includes(group)) return [];
  return [
    { path: [...base, ...info.templatePath], label: labelOf(value), runsToCompletion: info.runsToCompletion },
  ];
}
