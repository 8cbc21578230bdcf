import { isDeepStrictEqual } from 'node:util';
import { isRecord } from './tree.ts';

/** One RFC 6902 operation, as the admission webhook sends them. */
export type JsonPatchOp =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** One reference token of a JSON Pointer (RFC 6901 §3): `~` → `~0`, `/` → `~1`. */
function token(key: string | number): string {
  if (typeof key === 'number') return String(key);
  return key.includes('~') || key.includes('/') ? key.replaceAll('~', '~0').replaceAll('/', '~1') : key;
}

/** Equality of two JSON values; primitives without a deep comparison (the common case by far). */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return isDeepStrictEqual(a, b);
}

/**
 * Key of a list item for lining two lists up: its `name` when it has one (containers, env,
 * volumes), else the item itself. Two items with the same key are the same item, edited.
 */
function sameItem(a: unknown, b: unknown): boolean {
  if (isRecord(a) && isRecord(b) && typeof a['name'] === 'string') return a['name'] === b['name'];
  return equal(a, b);
}

/**
 * Walks two values side by side. The JSON Pointer of the current position is kept as a stack of
 * escaped tokens and joined only when an operation is emitted: most of a pod is unchanged, and
 * building a path string for every node visited cost more than the rest of the walk (measured on
 * a 1.7 MB pod of 28,000 env entries).
 */
class Differ {
  readonly ops: JsonPatchOp[] = [];
  readonly #path: (string | number)[] = [];

  #at(key: string | number): string {
    let at = '';
    for (const k of this.#path) at += `/${token(k)}`;
    return `${at}/${token(key)}`;
  }

  value(before: unknown, after: unknown, key: string | number): void {
    if (before === after) return;
    const bothRecords = isRecord(before) && isRecord(after);
    const bothArrays = Array.isArray(before) && Array.isArray(after);
    if (!bothRecords && !bothArrays) {
      if (!equal(before, after)) this.ops.push({ op: 'replace', path: this.#at(key), value: after });
      return;
    }
    this.#path.push(key);
    if (bothRecords) this.object(before, after);
    else this.array(before as unknown[], after as unknown[]);
    this.#path.pop();
  }

  object(before: Record<string, unknown>, after: Record<string, unknown>): void {
    for (const key of Object.keys(before)) {
      if (!Object.hasOwn(after, key)) this.ops.push({ op: 'remove', path: this.#at(key) });
    }
    for (const [key, value] of Object.entries(after)) {
      if (Object.hasOwn(before, key)) this.value(before[key], value, key);
      else this.ops.push({ op: 'add', path: this.#at(key), value });
    }
  }

  /**
   * Lists are lined up by their common head and tail (by {@link sameItem}), which are diffed in
   * place; what is left in the middle is edited item by item when both middles are as long, else
   * removed and added. The rewriter only inserts or removes items (the sidecar, the policy volume,
   * an env entry), so its patches come out as single `add`s and in-place edits. Indices are those
   * of the list at the moment each operation applies (RFC 6902 applies them in order).
   */
  array(before: readonly unknown[], after: readonly unknown[]): void {
    let head = 0;
    while (head < before.length && head < after.length && sameItem(before[head], after[head])) head++;
    let tail = 0;
    while (
      tail < before.length - head &&
      tail < after.length - head &&
      sameItem(before[before.length - 1 - tail], after[after.length - 1 - tail])
    ) {
      tail++;
    }
    for (let i = 0; i < head; i++) this.value(before[i], after[i], i);
    const oldMiddle = before.length - head - tail;
    const newMiddle = after.length - head - tail;
    if (oldMiddle === newMiddle) {
      for (let i = head; i < head + oldMiddle; i++) this.value(before[i], after[i], i);
    } else {
      for (let i = 0; i < oldMiddle; i++) this.ops.push({ op: 'remove', path: this.#at(head) });
      for (let i = 0; i < newMiddle; i++) {
        this.ops.push({ op: 'add', path: this.#at(head + i), value: after[head + i] });
      }
    }
    // The tail now sits at its final indices.
    for (let k = 0; k < tail; k++) {
      this.value(before[before.length - tail + k], after[after.length - tail + k], after.length - tail + k);
    }
  }
}

/**
 * The JSON Patch (RFC 6902) that turns `before` into `after` (both plain JSON, objects at the
 * root); empty when they are equal. Recursion follows the nesting of the values: callers bound it
 * (the webhook refuses reviews nested deeper than its limit before getting here).
 */
export function jsonPatch(before: Record<string, unknown>, after: Record<string, unknown>): JsonPatchOp[] {
  const differ = new Differ();
  differ.object(before, after);
  return differ.ops;
}
