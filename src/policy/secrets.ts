import type { KeyPath } from './locate.ts';
import { describeValue } from './problems.ts';
import { REDACTED, redactUserinfo, USERINFO_RE } from './view.ts';

/**
 * Where secrets live in a policy document, so that error messages never show them (they reach
 * the log and `GET /config`): everything under `admin` (the token), upstream `headers`, and
 * `cache.url` (a Redis password). `*` stands for any upstream name.
 */
const SECRET_PATHS: readonly (readonly string[])[] = [
  ['admin'],
  ['upstreams', '*', 'headers'],
  ['cache', 'url'],
];
/** URLs that may carry `user:password@`: shown in messages without it. */
const URL_PATHS: readonly (readonly string[])[] = [['upstreams', '*', 'url']];
/** Values shorter than this are not scrubbed from messages (they would hit ordinary words). */
const MIN_SCRUB_LENGTH = 4;

function matches(path: KeyPath, patterns: readonly (readonly string[])[]): boolean {
  return patterns.some(
    (p) => p.length <= path.length && p.every((seg, i) => seg === '*' || seg === String(path[i])),
  );
}

/** True for a path at or under a secret-bearing key (`admin.token`, `upstreams.x.headers.y`, `cache.url`). */
export function isSecretPath(path: KeyPath): boolean {
  return matches(path, SECRET_PATHS);
}

const isScalar = (v: unknown): boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function shape(value: unknown): string {
  if (typeof value === 'string') return 'a string';
  return typeof value === 'number' ? 'a number' : 'a boolean';
}

/**
 * How a message may show the value found at `path`: not at all when it came from `${...}`
 * (`vars` names the variables) or sits at a secret-bearing key, without userinfo for URLs.
 */
export function shownValue(path: KeyPath, value: unknown, vars: readonly string[] | undefined): string {
  if (vars) return `the value of \${${vars.join('}, ${')}} (not shown)`;
  if (isSecretPath(path) && isScalar(value)) return `${shape(value)} (not shown)`;
  if (typeof value === 'string' && matches(path, URL_PATHS)) return describeValue(redactUserinfo(value));
  return describeValue(value);
}

/** True when a message about `path` must not show its value (a scalar at a secret key, or from `${...}`). */
export function isHidden(path: KeyPath, value: unknown, vars: readonly string[] | undefined): boolean {
  return vars !== undefined || (isSecretPath(path) && isScalar(value));
}

/**
 * The literal secret strings of a raw document, for a last scrub of every message: values under
 * secret-bearing keys, the userinfo and password of URLs, and `extra` (the values of the
 * environment variables the file used). Strings under 4 characters are left alone.
 */
export function secretStrings(raw: unknown, extra: Iterable<string>): string[] {
  const out = new Set<string>();
  const add = (s: string): void => {
    if (s.length >= MIN_SCRUB_LENGTH) out.add(s);
  };
  for (const s of extra) add(s);
  // Aliases make the document a graph: each object is walked at most once as secret, once not.
  const seen = [new WeakSet<object>(), new WeakSet<object>()] as const;
  const walk = (v: unknown, path: readonly PropertyKey[], secret: boolean): void => {
    if (typeof v === 'string' || typeof v === 'number') {
      if (secret) add(String(v));
      const m = typeof v === 'string' ? USERINFO_RE.exec(v) : null;
      if (m) {
        const userinfo = m[0].slice(m[1]!.length, -1);
        add(userinfo);
        const colon = userinfo.indexOf(':');
        if (colon !== -1) add(userinfo.slice(colon + 1));
      }
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const visited = seen[secret ? 1 : 0];
    if (visited.has(v)) return;
    visited.add(v);
    for (const [k, child] of Object.entries(v)) {
      const next = [...path, k];
      walk(child, next, secret || isSecretPath(next));
    }
  };
  walk(raw, [], false);
  return [...out].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of each secret in `message` with `[redacted]`. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}
