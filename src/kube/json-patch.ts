import { isDeepStrictEqual } from 'node:util';
import { isRecord } from './tree.ts';

/** One RFC 6902 operation, as the admission webhook sends them. */
export type JsonPatchOp =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** One reference token of a JSON Pointer (RFC 6901 §3): `~` → `~0`, `/` → `~1`. */
function token(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Key of a list item for lining two lists up: its `name` when it has one (containers, env,
 * volumes), else the item itself. Two items with the same key are the same item, edited.
 */
function sameItem(a: unknown, b: unknown): boolean {
  if (isRecord(a) && isRecord(b) && typeof a['name'] === 'string') return a['name'] === b['name'];
  return isDeepStrictEqual(a, b);
}

function diffObject(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  path: string,
  ops: JsonPatchOp[],
): void {
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(after, key)) ops.push({ op: 'remove', path: `${path}/${token(key)}` });
  }
  for (const [key, value] of Object.entries(after)) {
    const at = `${path}/${token(key)}`;
    if (Object.hasOwn(before, key)) diffValue(before[key], value, at, ops);
    else ops.push({ op: 'add', path: at, value });
  }
}

/**
 * Lists are lined up by their common head and tail (by {@link sameItem}), which diffs each in
 * place; what is left in the middle is edited item by item when both middles are as long, else
 * removed and added. The rewriter only inserts or removes items (the sidecar, the policy volume, an
 * env entry), so its patches come out as single `add`s and in-place edits. Indices are those of
 * the list at the moment each operation applies (RFC 6902 applies them in order).
 */
function diffArray(
  before: readonly unknown[],
  after: readonly unknown[],
  path: string,
  ops: JsonPatchOp[],
): void {
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
  for (let i = 0; i < head; i++) diffValue(before[i], after[i], `${path}/${i}`, ops);
  const oldMiddle = before.length - head - tail;
  const newMiddle = after.length - head - tail;
  if (oldMiddle === newMiddle) {
    for (let i = head; i < head + oldMiddle; i++) diffValue(before[i], after[i], `${path}/${i}`, ops);
  } else {
    for (let i = 0; i < oldMiddle; i++) ops.push({ op: 'remove', path: `${path}/${head}` });
    for (let i = 0; i < newMiddle; i++) {
      ops.push({ op: 'add', path: `${path}/${head + i}`, value: after[head + i] });
    }
  }
  // The tail now sits at its final indices.
  for (let k = 0; k < tail; k++) {
    const b = before.length - tail + k;
    const a = after.length - tail + k;
    diffValue(before[b], after[a], `${path}/${a}`, ops);
  }
}

function diffValue(before: unknown, after: unknown, path: string, ops: JsonPatchOp[]): void {
  if (isRecord(before) && isRecord(after)) diffObject(before, after, path, ops);
  else if (Array.isArray(before) && Array.isArray(after)) diffArray(before, after, path, ops);
  else if (!isDeepStrictEqual(before, after)) ops.push({ op: 'replace', path, value: after });
}

/**
 * The JSON Patch (RFC 6902) that turns `before` into `after` (both plain JSON, objects at the
 * root); empty when they are equal. Recursion follows the nesting of the values: callers bound it
 * (the webhook refuses reviews nested deeper than its limit before getting here).
 */
export function jsonPatch(before: Record<string, unknown>, after: Record<string, unknown>): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  diffObject(before, after, '', ops);
  return ops;
}
