import { isRecord, type Json } from './tree.ts';

/** The only AdmissionReview version served (the chart registers `admissionReviewVersions: [v1]`). */
export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/**
 * Deepest nesting of `{`/`[` accepted in a review. A real one is about 15 deep (review → request
 * → object → spec → affinity → … → values); the limit keeps the recursive steps after parsing
 * (copy, diff) far from the stack limit, and is checked before `JSON.parse`, which spends about
 * 2 s of event loop on a 2 MB run of `[` (measured, Node 24).
 */
export const MAX_NESTING = 64;

/** A review the webhook can work on: a Pod being created. */
export interface PodReview {
  readonly ok: true;
  readonly uid: string;
  /** `request.namespace` ('' when absent). */
  readonly namespace: string;
  /** The pod as sent (`request.object`); never modified. */
  readonly pod: Json;
}

/** A review the webhook cannot work on: answered `allowed: true`, no patch, with `problem` as a warning. */
export interface BadReview {
  readonly ok: false;
  /** `request.uid` when it could be read, else ''. */
  readonly uid: string;
  readonly problem: string;
}

/** The `response` of an AdmissionReview; always `allowed: true` (the webhook never blocks a deploy). */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: true;
  readonly patchType?: 'JSONPatch';
  /** base64 of the JSON Patch. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
}

/**
 * `request.uid` read from the start of a body that will not be parsed (too large, or not JSON):
 * the API server writes `request` with `uid` first (AdmissionRequest's first field), long before
 * the object. '' when it is not there.
 */
export function sniffUid(head: string): string {
  const m = /"request"\s*:\s*\{\s*"uid"\s*:\s*"([0-9A-Za-z-]{1,128})"/.exec(head);
  return m?.[1] ?? '';
}

/** Nesting depth of `{`/`[` in JSON text, counting stops once it passes `limit` (strings skipped). */
export function nestingExceeds(body: Buffer, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === 0x22) {
      for (i++; i < body.length && body[i] !== 0x22; i++) if (body[i] === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return v === undefined ? 'nothing' : Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v;
}

function groupVersionKind(gvk: unknown): string {
  if (!isRecord(gvk)) return describe(gvk);
  const group = typeof gvk['group'] === 'string' && gvk['group'] !== '' ? `${gvk['group']}/` : '';
  return `${group}${String(gvk['version'])}/${String(gvk['kind'])}`;
}

function checkRequest(request: Json): string | null {
  const kind = request['kind'];
  if (!isRecord(kind) || kind['group'] !== '' || kind['version'] !== 'v1' || kind['kind'] !== 'Pod') {
    return `request.kind: expected v1/Pod, got ${groupVersionKind(kind)}`;
  }
  const sub = request['subResource'];
  if (sub !== undefined && sub !== '') return `request.subResource: expected none, got ${describe(sub)}`;
  if (request['operation'] !== 'CREATE') {
    return `request.operation: expected CREATE, got ${describe(request['operation'])}`;
  }
  const pod = request['object'];
  if (!isRecord(pod)) return `request.object: expected a Pod, got ${describe(pod)}`;
  if (pod['kind'] !== undefined && pod['kind'] !== 'Pod') {
    return `request.object.kind: expected Pod, got ${describe(pod['kind'])}`;
  }
  if (pod['metadata'] !== undefined && !isRecord(pod['metadata'])) {
    return `request.object.metadata: expected a map, got ${describe(pod['metadata'])}`;
  }
  if (!isRecord(pod['spec'])) return `request.object.spec: expected a pod spec, got ${describe(pod['spec'])}`;
  return null;
}

/**
 * Reads one AdmissionReview body: an `admission.k8s.io/v1` review of a Pod CREATE. Anything else
 * (not JSON, nested deeper than {@link MAX_NESTING}, another version or kind, another resource or
 * operation, fields missing) is a {@link BadReview} naming what was wrong, never a throw.
 */
export function parseReview(body: Buffer): PodReview | BadReview {
  const bad = (uid: string, problem: string): BadReview => ({ ok: false, uid, problem });
  if (nestingExceeds(body, MAX_NESTING)) {
    return bad(
      sniffUid(body.subarray(0, 64 * 1024).toString('utf8')),
      `nested deeper than ${MAX_NESTING} levels`,
    );
  }
  let review: unknown;
  try {
    review = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return bad(
      sniffUid(body.subarray(0, 64 * 1024).toString('utf8')),
      `malformed JSON: ${(err as Error).message}`,
    );
  }
  if (!isRecord(review)) return bad('', `expected an AdmissionReview object, got ${describe(review)}`);
  const request = review['request'];
  const uid = isRecord(request) && typeof request['uid'] === 'string' ? request['uid'] : '';
  if (review['apiVersion'] !== ADMISSION_API_VERSION || review['kind'] !== 'AdmissionReview') {
    const got = `${describe(review['apiVersion'])} ${describe(review['kind'])}`;
    return bad(uid, `expected an AdmissionReview of ${ADMISSION_API_VERSION}, got ${got}`);
  }
  if (!isRecord(request)) return bad(uid, `request: expected a map, got ${describe(request)}`);
  if (uid === '') return bad(uid, `request.uid: expected a string, got ${describe(request['uid'])}`);
  const problem = checkRequest(request);
  if (problem !== null) return bad(uid, problem);
  const namespace = typeof request['namespace'] === 'string' ? request['namespace'] : '';
  return { ok: true, uid, namespace, pod: request['object'] as Json };
}

/** The AdmissionReview sent back: `{apiVersion, kind, response}`. */
export function reviewResponse(response: AdmissionResponse): Json {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
