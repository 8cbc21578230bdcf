import { isMap, parseAllDocuments, type Document } from 'yaml';
import { DocEditor } from './ast.ts';
import { invalid, type InjectOptions } from './options.ts';
import { injectPod, runContext } from './pod.ts';
import { configMapFromText, flattenObjects, isConfigMapNamed, policyInfo } from './policy-info.ts';
import { labelOf, podTargets } from './workload.ts';

/** Result of {@link injectManifests}. */
export interface InjectResult {
  /** The manifests, with every workload injected and every other document byte-for-byte as given. */
  readonly output: string;
  /** Things the user should look at (env vars left alone, NO_PROXY entries dropped, …). */
  readonly warnings: readonly string[];
  /** Pod templates that carry the sidecar in the output. */
  readonly podTemplates: number;
}

function lineCounter(src: string): (offset: number) => number {
  const starts = [0];
  for (let i = src.indexOf('\n'); i >= 0; i = src.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/**
 * Whether the document writes lists under a key without indenting them (`key:\n- a`, kubectl's
 * style) so that an edited document keeps the style it came in.
 */
function indentsSequences(text: string): boolean {
  const m = /^( *)[^\s#-][^\n]*:[ \t]*\n(?:[ \t]*(?:#[^\n]*)?\n)*( *)- /m.exec(text);
  return m === null || m[2]!.length > m[1]!.length;
}

/** Whether flow collections are written `{ a: 1 }` (yaml's default) rather than `{a: 1}`. */
function padsFlow(text: string): boolean {
  return !/(?::|^\s*-)[ \t]+[[{][^\s\]}]/m.test(text);
}

/** Offset where a document begins in the stream (its `---` line, when it has one). */
function startOf(doc: Document): number {
  return doc.range?.[0] ?? 0;
}

function pathLabel(path: readonly (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}

/**
 * Adds the breakwater sidecar to every workload of a multi-document YAML stream (Pod, Deployment,
 * StatefulSet, DaemonSet, Job, CronJob, also inside `kind: List`). Documents it does not change are
 * returned byte for byte; changed ones keep their comments and key order. Running it on its own
 * output returns that output unchanged.
 *
 * @throws BreakwaterError `BW_ERR_MANIFEST_INVALID` on YAML that does not parse (naming document and
 *   line), on a workload without containers, and on options that cannot work (e.g. `--via hosts`
 *   with no known upstream).
 */
export function injectManifests(input: string, options: InjectOptions): InjectResult {
  const lineOf = lineCounter(input);
  const docs: Document[] = [...parseAllDocuments(input)];
  const values = docs.map((doc, i) => {
    const err = doc.errors[0];
    if (err !== undefined) {
      const at = err.linePos ? ` line ${err.linePos[0].line}, column ${err.linePos[0].col}:` : '';
      const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw invalid(`document ${i + 1},${at} ${what}`);
    }
    return doc.toJS({ maxAliasCount: -1 }) as unknown;
  });

  const warnings: string[] = [];
  const configMap =
    options.configMapText !== null
      ? configMapFromText(options.configMapText, options.configMap)
      : (flattenObjects(values).find((v) => isConfigMapNamed(v, options.configMap)) ?? null);
  const info = configMap === null ? null : policyInfo(configMap, options.configMap);
  if (info !== null) warnings.push(...info.warnings);
  const ctx = runContext(options, info, (m) => void warnings.push(m));

  let podTemplates = 0;
  const pieces = docs.map((doc, i) => {
    const start = i === 0 ? 0 : startOf(doc);
    const end = i + 1 < docs.length ? startOf(docs[i + 1]!) : input.length;
    const text = input.slice(start, end);
    const targets = podTargets(values[i]);
    if (targets.length === 0) return text;
    const ed = new DocEditor(doc, `document ${i + 1} (${labelOf(values[i])})`, lineOf);
    for (const target of targets) {
      const where = pathLabel(target.path);
      const template = target.path.length === 0 ? doc.contents : doc.getIn(target.path, true);
      if (!isMap(template)) throw ed.fail(where || 'document', 'a pod template (a map)', template);
      const prefix = { ...ctx.rewire, warn: (m: string) => void warnings.push(`${ed.label}: ${m}`) };
      if (injectPod(ed, template, target, where, { ...ctx, rewire: prefix })) podTemplates++;
    }
    if (!ed.changed) return text;
    return doc.toString({
      lineWidth: 0,
      indentSeq: indentsSequences(text),
      flowCollectionPadding: padsFlow(text),
    });
  });
  return { output: pieces.join(''), warnings, podTemplates };
}
