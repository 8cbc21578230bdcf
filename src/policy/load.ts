import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { systemClock, type Clock } from '../clock/index.ts';
import { ErrorCode } from '../errors/index.ts';
import { checkReferences } from './check.ts';
import { compile } from './compile.ts';
import { deepFreeze } from './freeze.ts';
import { interpolateDocument, type PolicyEnv } from './interpolate.ts';
import { formatCount, limitMessage, POLICY_LIMITS } from './limits.ts';
import { formatKeyPath, locate, type KeyPath } from './locate.ts';
import { PolicyError, type PolicyProblem } from './problems.ts';
import { decodePolicy, readPolicyBytes } from './read.ts';
import { scanTokens } from './scan.ts';
import { policySchema, type PolicyDocument } from './schema.ts';
import { isHidden, scrub, secretStrings, shownValue } from './secrets.ts';
import { inspectDocument, type AliasResolver } from './shape.ts';
import type { Policy, PolicySource } from './types.ts';
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

/**
 * A validated policy document before compilation: what the expensive part of loading produces
 * (it may run in a worker thread; everything here survives structured cloning).
 */
export interface PolicyAnalysis {
  readonly document: PolicyDocument;
  /** Lower-cased key paths (`formatKeyPath`) of the values that came from `${...}`. */
  readonly fromEnv: readonly string[];
}

interface Located {
  readonly offset: number;
  /** null for problems that are not about a key (YAML syntax, limits). */
  readonly path: KeyPath | null;
  readonly message: string;
}

type EnvPaths = ReadonlyMap<string, readonly string[]>;

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

/**
 * Completes `expected ...` with `, got <value>`; a value at a secret-bearing key or from `${...}`
 * is described, never shown, even where the message already named it.
 */
function withGot(p: Located, raw: unknown, fromEnv: EnvPaths): Located {
  if (p.path === null || !p.message.startsWith('expected')) return p;
  const vars = fromEnv.get(formatKeyPath(p.path).toLowerCase());
  const value = getAt(raw, p.path);
  const cut = p.message.indexOf(', got ');
  if (cut !== -1 && !isHidden(p.path, value, vars)) return p;
  const expected = cut === -1 ? p.message : p.message.slice(0, cut);
  return { ...p, message: `${expected}, got ${shownValue(p.path, value, vars)}` };
}

function issueProblems(issue: z.core.$ZodIssue, doc: Document, resolve: AliasResolver): Located[] {
  if (issue.code === 'unrecognized_keys') {
    const lines = issue.message.split('\n');
    return issue.keys.map((key, i) => {
      const path = [...issue.path, key];
      return { offset: locate(doc, path, 'key', resolve), path, message: lines[i] ?? 'unknown key' };
    });
  }
  return [{ offset: locate(doc, issue.path, 'value', resolve), path: issue.path, message: issue.message }];
}

function isUnder(path: KeyPath, prefix: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => String(seg) === String(path[i]));
}

// Control characters and line separators quoted from the file (an unterminated `${` spanning
// lines, a YAML message) would break the one-problem-per-line format and could forge log lines.
const CONTROL_RE = /\p{Cc}|\u2028|\u2029/gu;
const ESCAPES: Partial<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function oneLine(message: string): string {
  return message.replace(
    CONTROL_RE,
    (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Throws the PolicyError for `found`: in file order, duplicates dropped, at most `maxProblems`, secrets scrubbed. */
function fail(
  file: string,
  lines: LineCounter,
  found: readonly Located[],
  secrets: readonly string[],
): never {
  const seen = new Set<string>();
  const unique: { p: Located; path: string }[] = [];
  for (const p of [...found].sort((a, b) => a.offset - b.offset)) {
    const path = p.path === null ? '' : formatKeyPath(p.path);
    const key = `${p.offset}\0${path}\0${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push({ p, path });
  }
  const { maxProblems } = POLICY_LIMITS;
  const problems: PolicyProblem[] = unique.slice(0, maxProblems).map(({ p, path }) => {
    const { line, col } = lines.linePos(p.offset);
    const message = oneLine(scrub(p.message, secrets));
    return { file, line, column: col, path: scrub(path, secrets), message };
  });
  if (unique.length > maxProblems) {
    const message = `... and ${formatCount(unique.length - maxProblems)} more problems (the first ${maxProblems} are listed)`;
    problems.push({ file, line: null, column: null, path: '', message });
  }
  throw new PolicyError(ErrorCode.POLICY_INVALID, problems);
}

/** Line starts of `text`, for positions of problems found before the YAML parser ran. */
function lineCounterOf(text: string): LineCounter {
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  return lines;
}

/** Parses `text` into a YAML document within `POLICY_LIMITS`; throws the first problem. */
function parseBounded(
  text: string,
  label: string,
): { doc: Document; lines: LineCounter; resolve: AliasResolver } {
  const bytes = Buffer.byteLength(text, 'utf8');
  const { maxFileBytes } = POLICY_LIMITS;
  if (bytes > maxFileBytes) {
    const message = limitMessage(`at most ${formatCount(maxFileBytes)} bytes (1 MiB)`, formatCount(bytes));
    const problem = { file: label, line: null, column: null, path: '', message };
    throw new PolicyError(ErrorCode.POLICY_INVALID, [problem]);
  }
  const scanned = scanTokens(text);
  if (scanned) fail(label, lineCounterOf(text), [{ ...scanned, path: null }], []);
  const lines = new LineCounter();
  // uniqueKeys off: the package's check is quadratic; inspectDocument finds duplicates in linear time.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const syntax = doc.errors[0];
  if (syntax) {
    // Only the first: the parser's later errors are mostly consequences of the first one.
    fail(label, lines, [{ offset: syntax.pos[0], path: null, message: yamlMessage(text, syntax) }], []);
  }
  const { problem, resolve } = inspectDocument(doc, lines);
  if (problem) fail(label, lines, [{ ...problem, path: null }], []);
  return { doc, lines, resolve };
}

/**
 * The expensive part of loading: parses `text` within `POLICY_LIMITS`, interpolates `${...}` and
 * validates. Throws a `PolicyError` (`BW_ERR_POLICY_INVALID`) listing every problem, with no
 * secret value in it. `label` names the file in messages.
 */
export function analyzePolicy(text: string, label: string, env: PolicyEnv): PolicyAnalysis {
  const { doc, lines, resolve } = parseBounded(text, label);
  const interpolation = interpolateDocument(doc, env, resolve);
  const envValues = interpolation.fromEnv.flatMap((e) => e.vars.map((name) => env[name] ?? ''));
  const found: Located[] = [...interpolation.problems];
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: POLICY_LIMITS.maxAliases });
  } catch (err) {
    if (found.length === 0) found.push({ offset: 0, path: null, message: `YAML: ${(err as Error).message}` });
    fail(label, lines, found, secretStrings(undefined, envValues));
  }
  const fromEnv = new Map(interpolation.fromEnv.map((e) => [formatKeyPath(e.path).toLowerCase(), e.vars]));
  const secrets = (): string[] => secretStrings(raw, envValues);
  if (raw === null || raw === undefined) {
    const message = 'expected a policy mapping (with at least "upstreams"), got an empty document';
    fail(label, lines, [{ offset: 0, path: [], message }], secrets());
  }
  // A value whose `${...}` failed is not checked further: its problem is the variable.
  const unchecked = interpolation.problems.map((p) => p.path);
  const checked: Located[] = [];
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success)
    for (const issue of parsed.error.issues) checked.push(...issueProblems(issue, doc, resolve));
  for (const p of checkReferences(raw)) {
    checked.push({ offset: locate(doc, p.path, p.target, resolve), path: p.path, message: p.message });
  }
  found.push(...checked.filter((p) => p.path === null || !unchecked.some((u) => isUnder(p.path ?? [], u))));
  if (!parsed.success || found.length > 0) {
    fail(
      label,
      lines,
      found.map((p) => withGot(p, raw, fromEnv)),
      secrets(),
    );
  }
  return { document: parsed.data, fromEnv: [...fromEnv.keys()] };
}

/** The cheap part of loading: compiles an analysis into a deep-frozen Policy (with its redacted view). */
export function finishPolicy(analysis: PolicyAnalysis, source: PolicySource): Policy {
  const compiled = compile(analysis.document, source);
  return deepFreeze({ ...compiled, redacted: redact(policyView(compiled), new Set(analysis.fromEnv)) });
}

/**
 * Parses, validates and compiles policy text into a deep-frozen Policy.
 * Throws a `PolicyError` (`BW_ERR_POLICY_INVALID`) listing every problem found.
 * `source.sha256` is the hash of the text's UTF-8 bytes.
 */
export function parsePolicy(text: string, opts: ParsePolicyOptions): Policy {
  const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  const file = opts.file === null ? null : resolve(opts.file);
  const analysis = analyzePolicy(text, opts.file ?? '<inline>', opts.env);
  return finishPolicy(analysis, { file, sha256, loadedAtMs: (opts.clock ?? systemClock).now() });
}

/**
 * Reads and compiles a policy file on the calling thread. Throws a `PolicyError`:
 * `BW_ERR_POLICY_UNREADABLE` when the file cannot be read (missing, a symlink loop, not a regular
 * file), `BW_ERR_POLICY_INVALID` when it is too large, not UTF-8, or does not validate.
 * `source.sha256` is the hash of the bytes as read; `source.file` the absolute path.
 */
export async function loadPolicyFile(file: string, opts: LoadPolicyOptions): Promise<Policy> {
  const bytes = await readPolicyBytes(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const analysis = analyzePolicy(decodePolicy(file, bytes), file, opts.env);
  return finishPolicy(analysis, {
    file: resolve(file),
    sha256,
    loadedAtMs: (opts.clock ?? systemClock).now(),
  });
}
