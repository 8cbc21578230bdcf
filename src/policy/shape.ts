import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Alias,
  type Document,
  type LineCounter,
  type Node,
} from 'yaml';
import { formatCount, limitMessage, POLICY_LIMITS, type OffsetProblem } from './limits.ts';

const { maxNodes, maxKeysPerMapping, maxDepth, maxScalarLength, maxAliases } = POLICY_LIMITS;

/** Finds the node an alias stands for. */
export type AliasResolver = (alias: Alias) => Node | undefined;

/** What `inspectDocument` found: the first problem, and how to resolve aliases without a search. */
export interface Inspection {
  readonly problem: OffsetProblem | null;
  /**
   * The target of an alias: the last node before it carrying its anchor (YAML 1.2 §3.2.2.2).
   * The `yaml` package's `alias.resolve(doc)` searches the whole document on each call.
   */
  readonly resolve: AliasResolver;
}

const startOf = (node: unknown): number => (node as Partial<Node> | null)?.range?.[0] ?? 0;
const at = (node: unknown, expected: string, got = 'more'): OffsetProblem => ({
  offset: startOf(node),
  message: limitMessage(expected, got),
});

function keyKind(key: unknown): string {
  if (isAlias(key)) return 'an alias';
  if (isMap(key)) return 'a mapping';
  return isSeq(key) ? 'a list' : 'a complex value';
}

/**
 * Checks the built document against `POLICY_LIMITS` (nodes, keys per mapping, nesting, scalar
 * length, aliases, and nodes once aliases are expanded) and for duplicate or non-scalar keys, in
 * linear time. Returns the first problem.
 *
 * Duplicate keys are found with one Map per mapping: the `yaml` package's own check (`uniqueKeys`)
 * compares each key with every earlier one, which is quadratic (63,816 keys: ~50 s), so the parse
 * runs with it off. Keys are compared as `toJS()` makes them object keys (`1` and `"1"` collide).
 * A mapping or list used as a key is refused before `toJS()`, which stringifies such keys at a
 * cost exponential in their nesting (`? ? ? … 1`: 400 of them took a minute).
 */
export function inspectDocument(doc: Document, lines: LineCounter): Inspection {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  let nodes = 0;

  const visit = (node: unknown, depth: number): OffsetProblem | null => {
    if (node === null || node === undefined) return null;
    if (++nodes > maxNodes) return at(node, `at most ${formatCount(maxNodes)} nodes`);
    if (isAlias(node)) {
      targets.set(node, anchors.get(node.source));
      return targets.size > maxAliases ? at(node, `at most ${maxAliases} aliases`) : null;
    }
    const anchor = (node as Partial<Node>).anchor;
    if (anchor) anchors.set(anchor, node as Node);
    if (isScalar(node)) {
      const v = node.value;
      return typeof v === 'string' && v.length > maxScalarLength
        ? at(node, `a scalar of at most ${formatCount(maxScalarLength)} characters`, formatCount(v.length))
        : null;
    }
    if (!isMap(node) && !isSeq(node)) return null;
    if (depth >= maxDepth) return at(node, `at most ${maxDepth} levels of nesting`);
    if (isSeq(node)) return visitAll(node.items, depth + 1);
    if (node.items.length > maxKeysPerMapping) {
      const extra = node.items[maxKeysPerMapping]!;
      return at(extra.key ?? node, `at most ${formatCount(maxKeysPerMapping)} keys in one mapping`);
    }
    const seen = new Map<string, number>();
    for (const { key, value } of node.items) {
      if (key !== null && !isScalar(key)) {
        return {
          offset: startOf(key),
          message: `expected a plain key (a string), got ${keyKind(key)} as key`,
        };
      }
      const problem = visit(key, depth + 1) ?? duplicate(key, seen) ?? visit(value, depth + 1);
      if (problem) return problem;
    }
    return null;
  };

  const visitAll = (items: readonly unknown[], depth: number): OffsetProblem | null => {
    for (const item of items) {
      const problem = visit(item, depth);
      if (problem) return problem;
    }
    return null;
  };

  const duplicate = (key: { value: unknown } | null, seen: Map<string, number>): OffsetProblem | null => {
    const name = key === null ? 'null' : String(key.value);
    const first = seen.get(name);
    if (first === undefined) {
      seen.set(name, startOf(key));
      return null;
    }
    const line = lines.linePos(first).line;
    const message = `YAML: Map keys must be unique (${JSON.stringify(name.slice(0, 60))} is first at line ${line})`;
    return { offset: startOf(key), message };
  };

  const resolve: AliasResolver = (alias) => targets.get(alias) ?? anchors.get(alias.source);
  const problem = visit(doc.contents, 0) ?? checkExpansion(doc.contents, resolve);
  return { problem, resolve };
}

/**
 * Bounds the document as `toJS()` would expand it: nested aliases multiply (nine levels of nine
 * aliases stand for 9⁹ nodes, a "billion laughs"), and an alias inside the node it refers to
 * never ends. Sizes are memoised per node, so the check is linear in the document.
 */
function checkExpansion(root: unknown, resolve: AliasResolver): OffsetProblem | null {
  const sizes = new Map<unknown, number>();
  const active = new Set<unknown>();
  let problem: OffsetProblem | null = null;

  const size = (node: unknown, via: Alias | null): number => {
    if (problem !== null || node === null || node === undefined) return 0;
    if (isAlias(node)) return 1 + size(resolve(node), node);
    if (!isMap(node) && !isSeq(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (active.has(node)) {
      problem = {
        offset: startOf(via),
        message: 'expected an alias to a node that does not contain it, got a cycle',
      };
      return 0;
    }
    active.add(node);
    let n = 1;
    for (const item of node.items as unknown[]) {
      n += isMap(node)
        ? size((item as { key: unknown }).key, via) + size((item as { value: unknown }).value, via)
        : size(item, via);
      if (n > maxNodes) {
        problem ??= at(via ?? node, `at most ${formatCount(maxNodes)} nodes with aliases expanded`);
        break;
      }
    }
    active.delete(node);
    sizes.set(node, n);
    return n;
  };

  size(root, null);
  return problem;
}
