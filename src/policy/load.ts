import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { systemClock, type Clock } from '../clock/index.ts';
import { ErrorCode } from '../errors/index.ts';
import { checkReferences } from './check.ts';
import { compile } from './compile.ts';
import { deepFreeze } from './freeze.ts';
import { interpolateDocument, type PolicyEnv } from './interpolate.ts';
import { formatKeyPath, locate, type KeyPath } from './locate.ts';
import { describeValue, PolicyError, type PolicyProblem } from './problems.ts';
import { policySchema } from './schema.ts';
import type { Policy } from './types.ts';
import { policyView, redact } from './view.ts';

/** Options of `parsePolicy`. */
export interface ParsePolicyOptions {
  /** File the text came from (named in messages, resolved for `source.file`); null → `<inline>`. */
  readonly file: string | null;
  /** Variables for `${NAME}` interpolation (the caller passes `process.env`). */
  readonly env: PolicyEnv;
  /** Source of `source.loadedAtMs`; default the system clock. */
  readonly clock?: Clock;
}

/** Options of `loadPolicyFile`. */
export interface LoadPolicyOptions {
  readonly env: PolicyEnv;
  readonly clock?: Clock;
}

interface Located {
  readonly offset: number;
  /** null for problems that are not about a key (YAML syntax). */
  readonly path: KeyPath | null;
  readonly message: string;
}

const YAML_MESSAGES: Partial<Record<string, string>> = {
  MULTIPLE_DOCS: 'expected one YAML document, found several (separated by ---)',
};

function yamlMessage(text: string, err: YAMLError): string {
  const lineStart = text.lastIndexOf('\n', err.pos[0] - 1) + 1;
  const lineEnd = text.indexOf('\n', err.pos[0]);
  const line = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  // `{` and `}` of `${NAME}` are flow indicators: inside `{ }` or `[ ]` such a value must be quoted.
  const hint = line.includes('${') ? ' (inside { } or [ ], quote values that contain ${...})' : '';
  return `YAML: ${YAML_MESSAGES[err.code] ?? err.message}${hint}`;
}

function getAt(raw: unknown, path: KeyPath): unknown {
  let v = raw;
  for (const seg of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function issueProblems(
  issue: z.core.$ZodIssue,
  raw: unknown,
  doc: Document,
  fromEnv: Map<string, readonly string[]>,
): Located[] {
  if (issue.code === 'unrecognized_keys') {
    const lines = issue.message.split('\n');
    return issue.keys.map((key, i) => {
      const path = [...issue.path, key];
      return { offset: locate(doc, path, 'key'), path, message: lines[i] ?? 'unknown key' };
    });
  }
  let message = issue.message;
  if (message.startsWith('expected') && !message.includes(', got ')) {
    const vars = fromEnv.get(formatKeyPath(issue.path).toLowerCase());
    const got = vars
      ? `the value of \${${vars.join('}, ${')}} (not shown)`
      : describeValue(getAt(raw, issue.path));
    message = `${message}, got ${got}`;
  }
  return [{ offset: locate(doc, issue.path, 'value'), path: issue.path, message }];
}

function isUnder(path: KeyPath, prefix: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => String(seg) === String(path[i]));
}

function fail(file: string, lines: LineCounter, found: readonly Located[]): never {
  const seen = new Set<string>();
  const problems: PolicyProblem[] = [];
  for (const p of [...found].sort((a, b) => a.offset - b.offset)) {
    const path = p.path === null ? '' : formatKeyPath(p.path);
    const key = `${p.offset}\0${path}\0${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { line, col } = lines.linePos(p.offset);
    problems.push({ file, line, column: col, path, message: p.message });
  }
  throw new PolicyError(ErrorCode.POLICY_INVALID, problems);
}

function build(
  text: string,
  sha256: string,
  file: string | null,
  label: string,
  opts: LoadPolicyOptions,
): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, keepSourceTokens: true });
  const syntax = doc.errors[0];
  if (syntax) {
    // Only the first: the parser's later errors are mostly consequences of the first one.
    fail(label, lines, [{ offset: syntax.pos[0], path: null, message: yamlMessage(text, syntax) }]);
  }
  const interpolation = interpolateDocument(doc, opts.env);
  // A value whose `${...}` failed is not checked further: its problem is the variable.
  const unchecked = interpolation.problems.map((p) => p.path);
  const found: Located[] = [...interpolation.problems];
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    if (found.length === 0) found.push({ offset: 0, path: null, message: `YAML: ${(err as Error).message}` });
    fail(label, lines, found);
  }
  const fromEnv = new Map(interpolation.fromEnv.map((e) => [formatKeyPath(e.path).toLowerCase(), e.vars]));
  const checked: Located[] = [];
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) checked.push(...issueProblems(issue, raw, doc, fromEnv));
  }
  for (const p of checkReferences(raw)) {
    checked.push({ offset: locate(doc, p.path, p.target), path: p.path, message: p.message });
  }
  found.push(...checked.filter((p) => p.path === null || !unchecked.some((u) => isUnder(p.path ?? [], u))));
  if (!parsed.success || found.length > 0) fail(label, lines, found);
  const source = { file, sha256, loadedAtMs: (opts.clock ?? systemClock).now() };
  const compiled = compile(parsed.data, source);
  return deepFreeze({ ...compiled, redacted: redact(policyView(compiled), new Set(fromEnv.keys())) });
}

/**
 * Parses, validates and compiles policy text into a deep-frozen Policy.
 * Throws a `PolicyError` (`BW_ERR_POLICY_INVALID`) listing every problem found.
 * `source.sha256` is the hash of the text's UTF-8 bytes.
 */
export function parsePolicy(text: string, opts: ParsePolicyOptions): Policy {
  const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  const file = opts.file === null ? null : resolve(opts.file);
  return build(text, sha256, file, opts.file ?? '<inline>', opts);
}

/**
 * Reads and compiles a policy file. Throws a `PolicyError`: `BW_ERR_POLICY_UNREADABLE` when the file
 * cannot be read or is not UTF-8, `BW_ERR_POLICY_INVALID` when it does not validate.
 * `source.sha256` is the hash of the bytes as read; `source.file` the absolute path.
 */
export async function loadPolicyFile(file: string, opts: LoadPolicyOptions): Promise<Policy> {
  let text: string;
  let sha256: string;
  try {
    const bytes = await readFile(file);
    sha256 = createHash('sha256').update(bytes).digest('hex');
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const message = `cannot read the policy file (${reason === 'ERR_ENCODING_INVALID_ENCODED_DATA' ? 'not UTF-8' : reason})`;
    throw new PolicyError(
      ErrorCode.POLICY_UNREADABLE,
      [{ file, line: null, column: null, path: '', message }],
      { cause: err },
    );
  }
  return build(text, sha256, resolve(file), file, opts);
}
