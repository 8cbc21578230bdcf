/** Name of the injected container. */
export const SIDECAR_NAME = 'breakwater';
/** Name of the pod volume that holds the policy ConfigMap. */
export const POLICY_VOLUME = 'breakwater-policy';
/** Where the ConfigMap is mounted, as a directory (a `subPath` mount would never see updates). */
export const POLICY_DIR = '/etc/breakwater';
/** Key of the policy in the ConfigMap, hence the file `/etc/breakwater/policy.yaml`. */
export const POLICY_KEY = 'policy.yaml';
/** The numeric non-root user of the image (distroless `nonroot`). */
export const SIDECAR_UID = 65532;
/** Default `listen.proxy` port. */
export const DEFAULT_PROXY_PORT = 15001;
/** Default `listen.health` port. */
export const DEFAULT_HEALTH_PORT = 15021;
/** Idempotency marker on the pod template; its value is the breakwater version. */
export const ANNOTATION_INJECTED = 'breakwater.io/injected';
/** Opt-out: a pod template annotated `breakwater.io/inject: "false"` is left alone. */
export const ANNOTATION_OPT_OUT = 'breakwater.io/inject';
/** sha256 of the ConfigMap's data; changing the policy through `inject` rolls the pods. */
export const ANNOTATION_CHECKSUM = 'checksum/config';
/**
 * Smallest grace period that covers the drain: `shutdown.timeout` defaults to 25 s (docs/operations.md#graceful-shutdown-drain),
 * plus room for the kubelet to deliver SIGTERM.
 */
export const MIN_GRACE_SECONDS = 30;

/** Sidecar env names that `inject` owns: set for `--via hosts`, removed otherwise. */
export const MANAGED_SIDECAR_ENV: readonly string[] = ['BREAKWATER_LISTEN_PROXY', 'BREAKWATER_RESOLVER'];

/** What the sidecar container is built from. */
export interface SidecarSettings {
  readonly image: string;
  readonly legacy: boolean;
  /** Port of `listen.health` (probes). Default 15021. */
  readonly healthPort: number;
  /** `BREAKWATER_LISTEN_PROXY` value for `--via hosts`; null otherwise. */
  readonly listenProxy: string | null;
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
}

type Json = Record<string, unknown>;

function probe(path: string, port: number, periodSeconds: number, failureThreshold: number): Json {
  return { httpGet: { path, port }, periodSeconds, timeoutSeconds: 2, failureThreshold };
}

/** The sidecar's own env entries (only `--via hosts` has any). */
export function sidecarEnv(settings: SidecarSettings): Json[] {
  if (settings.listenProxy === null) return [];
  return [
    { name: 'BREAKWATER_LISTEN_PROXY', value: settings.listenProxy },
    // The pod's hostAliases point the upstream names at 127.0.0.1; the sidecar must not follow them.
    { name: 'BREAKWATER_RESOLVER', value: 'dns' },
  ];
}

/**
 * The sidecar container as plain data, keys in the order they are written. `env` is the merged
 * list (env entries a user added by hand, then {@link sidecarEnv}); left out when empty.
 */
export function sidecarContainer(settings: SidecarSettings, env: readonly unknown[]): Json {
  const container: Json = {
    name: SIDECAR_NAME,
    image: settings.image,
    args: ['run', '--config', `${POLICY_DIR}/${POLICY_KEY}`],
  };
  // Native sidecar (Kubernetes ≥ 1.29): starts before the app, stops after it, and does not keep
  // a Job's pod alive once the app is done.
  if (!settings.legacy) container['restartPolicy'] = 'Always';
  if (env.length > 0) container['env'] = env;
  Object.assign(container, {
    ports: [{ name: 'bw-health', containerPort: settings.healthPort, protocol: 'TCP' }],
    // No CPU limit: CFS throttling would land on every proxied call's latency.
    resources: {
      requests: { cpu: settings.cpuRequest, memory: settings.memoryRequest },
      limits: { memory: settings.memoryLimit },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // Up to 30 s to load the policy and bind; the app starts only after this passes.
    startupProbe: probe('/healthz/startup', settings.healthPort, 1, 30),
    readinessProbe: probe('/healthz/ready', settings.healthPort, 5, 2),
    livenessProbe: probe('/healthz/live', settings.healthPort, 10, 3),
    volumeMounts: [{ name: POLICY_VOLUME, mountPath: POLICY_DIR, readOnly: true }],
  });
  return container;
}

/** The pod volume carrying the policy ConfigMap. */
export function policyVolume(configMap: string): Json & { name: string } {
  return { name: POLICY_VOLUME, configMap: { name: configMap } };
}
