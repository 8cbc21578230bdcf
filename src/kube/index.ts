export { injectManifests } from './inject.ts';
export type { InjectResult } from './inject.ts';
export {
  BUILTIN_ENV_NAMES,
  checkConfigMapName,
  checkEnvName,
  INJECT_DEFAULTS,
  parseUpstreamFlag,
  parseVia,
  Via,
} from './options.ts';
export type { InjectOptions, UpstreamTarget } from './options.ts';
export {
  ANNOTATION_CHECKSUM,
  ANNOTATION_INJECTED,
  ANNOTATION_OPT_OUT,
  POLICY_DIR,
  POLICY_KEY,
  SIDECAR_NAME,
  SIDECAR_UID,
} from './sidecar.ts';
export { ANNOTATIONS, checkImage, checkQuantity } from './annotations.ts';
export { MAX_NESTING } from './admission.ts';
export { jsonPatch } from './json-patch.ts';
export type { JsonPatchOp } from './json-patch.ts';
export { MAX_WARNINGS, PodMutator } from './mutator.ts';
export type { MutatorOptions, ReviewOutcome } from './mutator.ts';
export { DEFAULT_MAX_BODY_BYTES, MUTATE_PATHS } from './webhook-http.ts';
export { ReviewResult, WebhookMetrics } from './webhook-metrics.ts';
export { WebhookServer } from './webhook-server.ts';
export type { ReloadReport, WebhookServerOptions } from './webhook-server.ts';
