import { isAlias, isMap, isScalar, isSeq, parse, Scalar, type Alias, type Document } from 'yaml';
import { keyString, type KeyPath } from './locate.ts';

/** Environment the policy is interpolated from (the caller passes `process.env`). */
export type PolicyEnv = Readonly<Record<string, string | undefined>>;

/** One `${...}` that could not be substituted (or an alias `*name` without its anchor). */
export interface InterpolationProblem {
  readonly path: KeyPath;
  readonly offset: number;
  readonly message: string;
}

/** What interpolation did: where values came from the environment, and what failed. */
export interface InterpolationResult {
  /** Values that came from `${...}`: key path → names of the variables used. */
  readonly fromEnv: ReadonlyArray<{ readonly path: KeyPath; readonly vars: readonly string[] }>;
  readonly problems: readonly InterpolationProblem[];
}

const REF_RE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const BODY_RE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;
// Results that may be re-read as a YAML scalar: no space, quote, colon or `#` (a comment).
const RETYPE_RE = /^[\w.+~-]+$/;
// Bounds the walk through aliases (a document of nested aliases can expand exponentially).
const MAX_VISITS = 100_000;

interface Substitution {
  value: string;
  vars: string[];
  errors: string[];
}

/**
 * Substitutes `${NAME}` and `${NAME:-default}` in `text` (the default applies when NAME is unset or
 * empty, as in the shell); `$${` is a literal `${`. Unset variables without a default are errors.
 */
export function substitute(text: string, env: PolicyEnv): Substitution {
  const vars: string[] = [];
  const errors: string[] = [];
  const value = text.replace(REF_RE, (whole: string, body: string | undefined) => {
    if (whole === '$${') return '${';
    if (body === undefined) {
      errors.push('unterminated "${" (write "$${" for a literal "${")');
      return '';
    }
    const ref = BODY_RE.exec(body);
    if (!ref) {
      errors.push(`expected \${NAME} or \${NAME:-default}, got ${JSON.stringify(`\${${body}}`)}`);
      return '';
    }
    const name = ref[1] ?? '';
    vars.push(name);
    const current = env[name];
    if (current !== undefined && current !== '') return current;
    if (ref[2] !== undefined) return ref[2];
    if (current === undefined) {
      errors.push(`environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
    }
    return '';
  });
  return { value, vars, errors };
}

/**
 * Interpolates every string value of the document in place. A plain (unquoted) scalar is re-read
 * as YAML after substitution, so `maxConcurrent: ${MAX:-64}` is a number. Map keys are left alone.
 * Aliases are followed (`resolve` gives their targets), so every path a value shows up at is known.
 */
export function interpolateDocument(
  doc: Document,
  env: PolicyEnv,
  resolve: (alias: Alias) => unknown,
): InterpolationResult {
  const fromEnv: Array<{ path: KeyPath; vars: readonly string[] }> = [];
  const problems: InterpolationProblem[] = [];
  const varsOf = new WeakMap<Scalar, readonly string[]>();
  const done = new WeakSet<Scalar>();
  const active = new Set<unknown>();
  let visits = 0;

  const visit = (node: unknown, path: KeyPath): void => {
    if (++visits > MAX_VISITS) return;
    if (isAlias(node)) {
      const target = resolve(node);
      if (!target)
        problems.push({ path, offset: node.range?.[0] ?? 0, message: `unknown alias *${node.source}` });
      else if (!active.has(target)) visit(target, path);
      return;
    }
    if (isScalar(node)) {
      if (!done.has(node)) {
        done.add(node);
        interpolateScalar(node, path);
      }
      const vars = varsOf.get(node);
      if (vars) fromEnv.push({ path, vars });
      return;
    }
    if (!isMap(node) && !isSeq(node)) return;
    active.add(node);
    if (isMap(node)) {
      for (const pair of node.items) visit(pair.value, [...path, keyString(pair.key)]);
    } else {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    }
    active.delete(node);
  };

  const interpolateScalar = (node: Scalar, path: KeyPath): void => {
    if (typeof node.value !== 'string' || !node.value.includes('${')) return;
    const result = substitute(node.value, env);
    for (const message of result.errors) problems.push({ path, offset: node.range?.[0] ?? 0, message });
    if (result.vars.length > 0) varsOf.set(node, result.vars);
    node.value = node.type === Scalar.PLAIN ? retype(result.value) : result.value;
  };

  visit(doc.contents, []);
  return { fromEnv, problems };
}

function retype(text: string): unknown {
  if (!RETYPE_RE.test(text)) return text;
  const value: unknown = parse(text);
  return typeof value === 'number' || typeof value === 'boolean' || value === null ? value : text;
}
