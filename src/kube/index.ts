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
