import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';

interface ModelClass {
  readonly prototype: { validate(): void };
}

const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Pod': Pod,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
  'cert-manager.io/v1/Certificate': Certificate,
  'cert-manager.io/v1/Issuer': Issuer,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};

type Json = Record<string, unknown>;

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Wraps `value` so that every property the validator reads is recorded as `path/key`. */
function recording(value: unknown, path: string, read: Set<string>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return child;
      read.add(`${path}/${key}`);
      return recording(child, `${path}/${key}`, read);
    },
  });
}

function unreadKeys(value: unknown, path: string, read: Set<string>, out: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => unreadKeys(v, `${path}/${i}`, read, out));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (!read.has(`${path}/${k}`)) out.push(`${path}/${k}`);
      unreadKeys(v, `${path}/${k}`, read, out);
    }
  }
}

/**
 * Problems of one Kubernetes object: its model's `.validate()` (JSON schema: types, required
 * fields, enums), then unknown fields. The compiled schema validators read exactly the properties
 * the schema knows (and every key of free-form maps such as labels), so any key the validator
 * never read is a field the API server would drop or reject — `.validate()` alone lets it pass.
 */
export function schemaProblems(obj: Json): string[] {
  const key = `${String(obj['apiVersion'])}/${String(obj['kind'])}`;
  const model = Object.hasOwn(MODELS, key) ? MODELS[key] : undefined;
  if (model === undefined) return [`${key}: no schema known to the test`];
  const read = new Set<string>();
  try {
    model.prototype.validate.call(recording(obj, '', read));
  } catch (err) {
    return [`${key}: ${(err as Error).message}`];
  }
  const unknown: string[] = [];
  unreadKeys(obj, '', read, unknown);
  return unknown.map((p) => `${key}: unknown field ${p}`);
}

/** Plain objects of a YAML stream (empty documents skipped); throws on YAML errors. */
export function parseObjects(text: string): Json[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
    const v: unknown = doc.toJS();
    return isJson(v) ? [v] : [];
  });
}

/** {@link schemaProblems} of every object of a YAML stream, prefixed by kind and name. */
export function streamProblems(text: string): string[] {
  return parseObjects(text).flatMap((obj) => {
    const name = (obj['metadata'] as Json | undefined)?.['name'];
    return schemaProblems(obj).map((p) => `${String(obj['kind'])} ${String(name)}: ${p}`);
  });
}
