import { BreakwaterError, ErrorCode } from '../errors/index.ts';

/** How the application's LLM calls are steered to the sidecar. */
export const Via = {
  /** Rewrite env vars that hold upstream URLs (`OPENAI_BASE_URL`, `OLLAMA_HOST`, …). The default. */
  ENV: 'env',
  /** Set `HTTP_PROXY`/`NO_PROXY`/`NODE_USE_ENV_PROXY` on the app containers. */
  PROXY: 'proxy',
  /** `hostAliases` pointing the upstream names at 127.0.0.1; the sidecar listens on their ports. */
  HOSTS: 'hosts',
} as const;
export type Via = (typeof Via)[keyof typeof Via];

/** An upstream the app calls by name, for `--via hosts` and for keeping it out of `NO_PROXY`. */
export interface UpstreamTarget {
  readonly name: string;
  /** Lower-cased hostname as written in the URL, e.g. `max-serve`. */
  readonly hostname: string;
  /** TCP port, defaulted from the scheme (80 / 443). */
  readonly port: number;
  /** `http:` or `https:`. */
  readonly protocol: string;
}

/** Options of {@link injectManifests}. Every field is final: the CLI applies the defaults. */
export interface InjectOptions {
  /** Sidecar image, e.g. `breakwater:0.1.0`. */
  readonly image: string;
  /** Value of the `breakwater.io/injected` marker annotation (the breakwater version). */
  readonly version: string;
  /** Name of the policy ConfigMap mounted at `/etc/breakwater`. Default `breakwater-policy`. */
  readonly configMap: string;
  /**
   * Text of `--configmap-file`: YAML holding that ConfigMap, or a bare policy file (taken as the
   * ConfigMap's `policy.yaml`). null: look for the ConfigMap in the input stream.
   */
  readonly configMapText: string | null;
  /** Default `env`. */
  readonly via: Via;
  /** Extra env var names rewritten by `--via env`, besides the built-in ones. */
  readonly envNames: readonly string[];
  /** Upstreams from `--upstream NAME=URL`; when empty, taken from the ConfigMap's policy. */
  readonly upstreams: readonly UpstreamTarget[];
  /** Extra `NO_PROXY` entries for `--via proxy` (other in-cluster HTTP services the app calls). */
  readonly noProxy: readonly string[];
  /** Put the sidecar in `containers` (clusters before 1.29) instead of a native sidecar. */
  readonly legacy: boolean;
  /** CPU request. Default `50m`. */
  readonly cpuRequest: string;
  /** Memory request. Default `96Mi`: above the peak charged memory measured (docs/reliability.md). */
  readonly memoryRequest: string;
  /** Memory limit. Default `256Mi`. */
  readonly memoryLimit: string;
}

/** The defaults of {@link InjectOptions} other than `image` and `version`. */
export const INJECT_DEFAULTS = {
  configMap: 'breakwater-policy',
  via: Via.ENV,
  cpuRequest: '50m',
  memoryRequest: '96Mi',
  memoryLimit: '256Mi',
} as const;

/** Env var names that `--via env` rewrites in every app container. */
export const BUILTIN_ENV_NAMES: readonly string[] = ['OPENAI_BASE_URL', 'OPENAI_API_BASE', 'OLLAMA_HOST'];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Throws `BW_ERR_MANIFEST_INVALID` (exit 2) unless `name` is a valid env var name. */
export function checkEnvName(name: string): string {
  if (!ENV_NAME.test(name)) {
    throw invalid(`--env: expected an environment variable name, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Throws `BW_ERR_MANIFEST_INVALID` unless `name` is a valid ConfigMap name (DNS subdomain). */
export function checkConfigMapName(name: string): string {
  if (name.length > 253 || !RESOURCE_NAME.test(name)) {
    throw invalid(`--configmap: expected a DNS subdomain name, got ${JSON.stringify(name)}`);
  }
  return name;
}

/**
 * Parses an upstream URL (`http://max-serve:8000/v1`) into a target; null when it is not an
 * absolute http(s) URL with a host.
 */
export function upstreamFromUrl(name: string, url: string): UpstreamTarget | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') return null;
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return { name, hostname, port, protocol: parsed.protocol };
}

/** Parses `--upstream NAME=URL`; throws `BW_ERR_MANIFEST_INVALID` (exit 2) on a bad value. */
export function parseUpstreamFlag(flag: string): UpstreamTarget {
  const eq = flag.indexOf('=');
  const name = eq > 0 ? flag.slice(0, eq) : '';
  const target = eq > 0 ? upstreamFromUrl(name, flag.slice(eq + 1)) : null;
  if (target === null) {
    throw invalid(`--upstream: expected NAME=http://host:port, got ${JSON.stringify(flag)}`);
  }
  return target;
}

/** Throws `BW_ERR_MANIFEST_INVALID` unless `via` is one of {@link Via}. */
export function parseVia(via: string): Via {
  const all: readonly string[] = Object.values(Via);
  if (!all.includes(via))
    throw invalid(`--via: expected one of ${all.join(', ')}, got ${JSON.stringify(via)}`);
  return via as Via;
}

/** A `BW_ERR_MANIFEST_INVALID` error (status 400: it is the caller's input). */
export function invalid(message: string): BreakwaterError {
  return new BreakwaterError(ErrorCode.MANIFEST_INVALID, message);
}
