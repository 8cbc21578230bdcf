import { ErrorCode, hasCode } from '../errors/index.ts';
import { parseReview, reviewResponse, sniffUid, type AdmissionResponse } from './admission.ts';
import { podOptions } from './annotations.ts';
import { jsonPatch } from './json-patch.ts';
import { JsonTree } from './json-tree.ts';
import { invalid, Via, type InjectOptions } from './options.ts';
import { injectPod, runContext, type RunContext } from './pod.ts';
import { configMapFromText, policyInfo, type PolicyInfo } from './policy-info.ts';
import { ANNOTATION_INJECTED, ANNOTATION_OPT_OUT, SIDECAR_NAME } from './sidecar.ts';
import { isRecord, type Json } from './tree.ts';
import { ReviewResult } from './webhook-metrics.ts';

/** Which webhook of the MutatingWebhookConfiguration sent the review (its path). */
export const Scope = {
  /** `/mutate`: the pod's namespace is labelled `breakwater.io/inject=enabled`; inject unless opted out. */
  NAMESPACE: 'namespace',
  /** `/mutate/annotated`: any other namespace; inject only pods annotated `breakwater.io/inject: "true"`. */
  ANNOTATED: 'annotated',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];

/** At most this many warnings of at most {@link MAX_WARNING_CHARS} go back to the API server (the log has them all). */
export const MAX_WARNINGS = 10;
/** Kubernetes may truncate longer warnings. */
export const MAX_WARNING_CHARS = 256;

/** What became of one review. */
export interface ReviewOutcome {
  readonly result: ReviewResult;
  readonly uid: string;
  readonly namespace: string;
  /** `Pod web-7d4f-x2x9q` ('' when the review had no pod). */
  readonly pod: string;
  /** Why there is no patch (opted out, already injected, the problem); null when injected. */
  readonly reason: string | null;
  /** Every warning, unshortened (the answer carries at most {@link MAX_WARNINGS}). */
  readonly warnings: readonly string[];
  /** Operations in the patch (0: none sent). */
  readonly operations: number;
  /** The AdmissionReview answer, JSON text. */
  readonly body: string;
  /** The exception behind an `error` result. */
  readonly error?: unknown;
}

/** Options of {@link PodMutator}. */
export interface MutatorOptions {
  /** The webhook's own flags: what every pod gets unless its annotations say otherwise. */
  readonly inject: InjectOptions;
}

function answer(uid: string, warnings: readonly string[], patch?: string): string {
  const sent = warnings.slice(0, MAX_WARNINGS).map((w) => {
    const text = `breakwater: ${w}`;
    return text.length > MAX_WARNING_CHARS ? `${text.slice(0, MAX_WARNING_CHARS - 1)}…` : text;
  });
  const response: AdmissionResponse = {
    uid,
    allowed: true,
    ...(patch === undefined ? {} : { patchType: 'JSONPatch', patch }),
    ...(sent.length === 0 ? {} : { warnings: sent }),
  };
  return JSON.stringify(reviewResponse(response));
}

function labelOf(pod: Json): string {
  const meta = isRecord(pod['metadata']) ? pod['metadata'] : {};
  if (typeof meta['name'] === 'string' && meta['name'] !== '') return `Pod ${meta['name']}`;
  if (typeof meta['generateName'] === 'string') return `Pod ${meta['generateName']}*`;
  return 'Pod';
}

function namedSidecar(list: unknown): boolean {
  return Array.isArray(list) && list.some((c) => isRecord(c) && c['name'] === SIDECAR_NAME);
}

/**
 * Turns AdmissionReview bodies into answers: the JSON Patch that gives a pod exactly what
 * `breakwater inject` would (the same rewrite, pod.ts, run on JSON), or no patch with the reason.
 * Every answer allows the pod: the webhook never blocks a deploy. Holds only data computed once
 * (the options and what the policy ConfigMap says); safe to share between requests.
 */
export class PodMutator {
  readonly #base: InjectOptions;
  readonly #info: PolicyInfo | null;
  readonly #ctx: RunContext;
  /** Things worth logging once at start (ConfigMap problems, upstreams that cannot be captured). */
  readonly warnings: readonly string[];

  /**
   * @param configMapText the policy ConfigMap (or a bare policy) for checksum, ports and
   *   upstreams, as `inject --configmap-file` reads it; null when unknown.
   * @throws BreakwaterError `BW_ERR_MANIFEST_INVALID` when the options cannot work for any pod
   *   (`--via hosts` with no upstream to capture) or the ConfigMap text is unusable.
   */
  constructor(options: MutatorOptions, configMapText: string | null) {
    this.#base = options.inject;
    const warnings: string[] = [];
    const configMap =
      configMapText === null ? null : configMapFromText(configMapText, options.inject.configMap);
    this.#info = configMap === null ? null : policyInfo(configMap, options.inject.configMap);
    if (this.#info !== null) warnings.push(...this.#info.warnings);
    this.#ctx = runContext(this.#base, this.#info, (m) => void warnings.push(m));
    if (this.#base.via === Via.HOSTS && this.#ctx.captured.length === 0) {
      throw invalid(
        '--via hosts: no upstream to capture; pass --upstream NAME=http://host:port or --configmap-file',
      );
    }
    this.warnings = warnings;
  }

  /** Answers one review body received on the webhook of `scope`. Never throws. */
  review(body: Buffer, scope: Scope): ReviewOutcome {
    const parsed = parseReview(body);
    if (!parsed.ok) return this.#noPatch(ReviewResult.INVALID, parsed.uid, '', '', parsed.problem, true);
    const { uid, namespace, pod } = parsed;
    const label = labelOf(pod);
    const no = (result: ReviewResult, reason: string, warn = false): ReviewOutcome =>
      this.#noPatch(result, uid, namespace, label, reason, warn);
    try {
      const meta = isRecord(pod['metadata']) ? pod['metadata'] : {};
      const annotations = meta['annotations'] ?? {};
      if (!isRecord(annotations))
        return no(ReviewResult.INVALID, 'metadata.annotations: expected a map', true);
      const flag = annotations[ANNOTATION_OPT_OUT];
      if (flag !== undefined && flag !== 'true' && flag !== 'false') {
        return no(
          ReviewResult.INVALID,
          `annotation ${ANNOTATION_OPT_OUT}: expected "true" or "false", got ${JSON.stringify(flag)}`,
          true,
        );
      }
      if (flag === 'false') return no(ReviewResult.SKIPPED, `opted out (${ANNOTATION_OPT_OUT}: "false")`);
      if (scope === Scope.ANNOTATED && flag !== 'true') {
        return no(ReviewResult.SKIPPED, `not opted in (${ANNOTATION_OPT_OUT}: "true")`);
      }
      const spec = pod['spec'] as Json;
      if (
        annotations[ANNOTATION_INJECTED] !== undefined ||
        namedSidecar(spec['containers']) ||
        namedSidecar(spec['initContainers'])
      ) {
        return no(ReviewResult.ALREADY_INJECTED, 'already has the sidecar');
      }
      return this.#inject(uid, namespace, label, pod, annotations, body);
    } catch (err) {
      if (hasCode(err, ErrorCode.MANIFEST_INVALID)) return no(ReviewResult.INVALID, err.message, true);
      return { ...no(ReviewResult.ERROR, `internal error: ${(err as Error).message}`, true), error: err };
    }
  }

  /** The answer to a body larger than `limitBytes`, of which `head` is the start. */
  tooLarge(head: string, limitBytes: number): ReviewOutcome {
    return this.#noPatch(
      ReviewResult.INVALID,
      sniffUid(head),
      '',
      '',
      `review larger than ${limitBytes} bytes`,
      true,
    );
  }

  #inject(
    uid: string,
    namespace: string,
    label: string,
    pod: Json,
    annotations: Json,
    body: Buffer,
  ): ReviewOutcome {
    const warnings: string[] = [];
    const warn = (m: string): void => void warnings.push(m);
    const options = podOptions(this.#base, annotations);
    const ctx =
      options === this.#base
        ? { ...this.#ctx, rewire: { ...this.#ctx.rewire, warn } }
        : runContext(options, options.configMap === this.#base.configMap ? this.#info : null, warn);
    // The copy to rewrite: parsing the body again is several times faster than structuredClone.
    const after = (JSON.parse(body.toString('utf8')) as { request: { object: Json } }).request.object;
    const restart = isRecord(pod['spec']) ? pod['spec']['restartPolicy'] : undefined;
    const facts = { label, runsToCompletion: restart === 'Never' || restart === 'OnFailure' };
    injectPod(new JsonTree(label), after, facts, '', ctx);
    const ops = jsonPatch(pod, after);
    if (ops.length === 0)
      return this.#noPatch(ReviewResult.ALREADY_INJECTED, uid, namespace, label, 'nothing to change', false);
    const patch = Buffer.from(JSON.stringify(ops)).toString('base64');
    return {
      result: ReviewResult.INJECTED,
      uid,
      namespace,
      pod: label,
      reason: null,
      warnings,
      operations: ops.length,
      body: answer(uid, warnings, patch),
    };
  }

  #noPatch(
    result: ReviewResult,
    uid: string,
    namespace: string,
    pod: string,
    reason: string,
    warn: boolean,
  ): ReviewOutcome {
    const warnings = warn ? [`sidecar not injected: ${reason}`] : [];
    return { result, uid, namespace, pod, reason, warnings, operations: 0, body: answer(uid, warnings) };
  }
}
