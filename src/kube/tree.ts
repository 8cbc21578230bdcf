/** A plain JSON object. */
export type Json = Record<string, unknown>;

/** True for a plain object (not null, not an array). */
export function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The edits the pod rewriter makes, over some tree of maps (`M`) and lists (`S`). Two trees
 * implement it: a YAML document's AST (`inject`: comments and key order kept, see ast.ts) and
 * plain JSON (the admission webhook: see json-tree.ts). The rewriter (pod.ts, rewire.ts) is
 * written once against this interface, so both paths make the same pod.
 *
 * Every write compares with what is there first and changes nothing when it already matches, so
 * rewriting a pod twice is the same as once.
 */
export interface PodTree<M, S> {
  isMap(node: unknown): node is M;
  isSeq(node: unknown): node is S;
  /** The child node at `parent[key]` as the tree holds it; undefined when absent. */
  node(parent: M, key: string): unknown;
  /** The nodes of a list. */
  items(seq: S): readonly unknown[];
  /** The plain value of a node (a copy the caller may keep); undefined when absent. */
  js(node: unknown): unknown;
  /** Plain value of `parent[key]`; undefined when absent. */
  get(parent: M, key: string): unknown;
  /** The map at `parent[key]`, created (at `before`'s position when given) when absent or null. */
  map(parent: M, key: string, where: string, before?: string): M;
  /** The list at `parent[key]`, created (at `before`'s position when given) when absent or null. */
  seq(parent: M, key: string, where: string, before?: string): S;
  /** Makes `parent[key]` equal `value` (appended when absent), touching nothing when it already is. */
  set(parent: M, key: string, value: unknown): void;
  /** Removes `parent[key]` when present. */
  delete(parent: M, key: string): void;
  /** Index of the map in `seq` whose `name` is `name`; -1 when there is none. */
  indexByName(seq: S, name: string): number;
  /** Inserts `value` at `index` (-1: at the end). */
  insert(seq: S, index: number, value: unknown): void;
  /** Removes the item at `index`; returns its plain value. */
  removeAt(seq: S, index: number): unknown;
  /** Makes the item named `value.name` equal `value`, appending it when absent. */
  upsertNamed(seq: S, value: Json & { name: string }): void;
  /** A `BW_ERR_MANIFEST_INVALID` error naming the pod, the path (and line, for YAML). */
  fail(where: string, expected: string, node?: unknown): Error;
}
