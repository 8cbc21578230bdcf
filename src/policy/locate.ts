import { isAlias, isMap, isScalar, isSeq, type Alias, type Document, type Node } from 'yaml';

/** A key path into the policy document: map keys and list indexes (`['routes', 0, 'chain']`). */
export type KeyPath = readonly PropertyKey[];

const PLAIN_KEY_RE = /^[A-Za-z_][\w-]*$/;

/**
 * Formats a key path the way messages show it: `upstreams.max-gpu.breaker`, `routes[0].chain[1]`,
 * `models["llama3.1:8b"]`; `(root)` for the empty path.
 */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) out = appendKeyPath(out, seg);
  return out === '' ? '(root)' : out;
}

/** `formatKeyPath` one segment at a time: `appendKeyPath('routes', 0)` is `routes[0]`. */
export function appendKeyPath(prefix: string, seg: PropertyKey): string {
  if (typeof seg === 'number') return `${prefix}[${seg}]`;
  if (typeof seg === 'string' && PLAIN_KEY_RE.test(seg)) return prefix === '' ? seg : `${prefix}.${seg}`;
  return `${prefix}[${JSON.stringify(String(seg))}]`;
}

/** The string form of a map key node, as `toJS()` would make it. */
export function keyString(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function startOf(node: unknown, fallback: number): number {
  const range = (node as Partial<Node> | null)?.range;
  return range ? range[0] : fallback;
}

/**
 * Source offset for a key path: the key itself for `target: 'key'` (unknown keys), the value for
 * `target: 'value'`, and the parent mapping when the path does not exist (a missing required key).
 * `resolve` gives the target of an alias (see `inspectDocument`).
 */
export function locate(
  doc: Document,
  path: KeyPath,
  target: 'key' | 'value',
  resolve: (alias: Alias) => unknown,
): number {
  let node: unknown = doc.contents;
  let offset = startOf(node, 0);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = resolve(node);
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyString(p.key) === String(seg));
      if (!pair) return offset;
      const keyOffset = startOf(pair.key, offset);
      if (last && target === 'key') return keyOffset;
      const value = pair.value as Partial<Node> | null;
      // An empty value (`key:`) has a zero-width range after the colon; the key reads better.
      const empty = !value?.range || value.range[0] === value.range[1];
      offset = empty ? keyOffset : startOf(value, keyOffset);
      node = value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg];
      offset = startOf(node, offset);
    } else {
      return offset;
    }
  }
  return offset;
}
