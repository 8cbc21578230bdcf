import { isDeepStrictEqual } from 'node:util';
import { invalid } from './options.ts';
import { isRecord, type Json, type PodTree } from './tree.ts';

/**
 * A JSON value to write: copied, so that no two places of the tree share an object. A plain
 * recursive copy: structuredClone costs tens of µs per small object, which was most of a typical
 * review's time (measured). Depth is bounded by the review's nesting limit.
 */
function copy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copy);
  const out: Json = {};
  for (const key of Object.keys(value)) put(out, key, copy((value as Json)[key]));
  return out;
}

/** `target[key] = value`, also for a key named `__proto__` (JSON.parse makes it an own key). */
function put(target: Json, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/**
 * {@link PodTree} over plain JSON, edited in place: the admission webhook rewrites a copy of the
 * pod it was sent and answers with the difference (json-patch.ts). Same semantics as the YAML
 * editor (ast.ts): null counts as absent, new keys are appended (or placed before `before`),
 * writes that change nothing are skipped.
 */
export class JsonTree implements PodTree<Json, unknown[]> {
  /** Prefix of error messages: `Pod web-7d4f-x2x9q`. */
  readonly label: string;

  constructor(label: string) {
    this.label = label;
  }

  isMap(node: unknown): node is Json {
    return isRecord(node);
  }

  isSeq(node: unknown): node is unknown[] {
    return Array.isArray(node);
  }

  node(parent: Json, key: string): unknown {
    return Object.hasOwn(parent, key) ? parent[key] : undefined;
  }

  items(seq: unknown[]): readonly unknown[] {
    return seq;
  }

  js(node: unknown): unknown {
    return copy(node);
  }

  get(parent: Json, key: string): unknown {
    return copy(this.node(parent, key));
  }

  map(parent: Json, key: string, where: string, before?: string): Json {
    const node = this.node(parent, key);
    if (node === undefined || node === null) return this.#insertKey(parent, key, {}, before) as Json;
    if (!isRecord(node)) throw this.fail(`${where}.${key}`, 'a map');
    return node;
  }

  seq(parent: Json, key: string, where: string, before?: string): unknown[] {
    const node = this.node(parent, key);
    if (node === undefined || node === null) return this.#insertKey(parent, key, [], before) as unknown[];
    if (!Array.isArray(node)) throw this.fail(`${where}.${key}`, 'a list');
    return node;
  }

  /** Adds `key` to `parent`, before the key `before` when it is there (key order is kept for readers). */
  #insertKey(parent: Json, key: string, value: unknown, before?: string): unknown {
    if (before === undefined || !Object.hasOwn(parent, before) || Object.hasOwn(parent, key)) {
      put(parent, key, value);
      return value;
    }
    const entries = Object.entries(parent);
    for (const [k] of entries) delete parent[k];
    for (const [k, v] of entries) {
      if (k === before) put(parent, key, value);
      put(parent, k, v);
    }
    return value;
  }

  set(parent: Json, key: string, value: unknown): void {
    const node = this.node(parent, key);
    if (node !== undefined && isDeepStrictEqual(node, value)) return;
    put(parent, key, copy(value));
  }

  delete(parent: Json, key: string): void {
    delete parent[key];
  }

  indexByName(seq: unknown[], name: string): number {
    return seq.findIndex((item) => isRecord(item) && item['name'] === name);
  }

  insert(seq: unknown[], index: number, value: unknown): void {
    if (index < 0) seq.push(copy(value));
    else seq.splice(index, 0, copy(value));
  }

  removeAt(seq: unknown[], index: number): unknown {
    return seq.splice(index, 1)[0];
  }

  upsertNamed(seq: unknown[], value: Json & { name: string }): void {
    const at = this.indexByName(seq, value.name);
    if (at < 0) this.insert(seq, -1, value);
    else if (!isDeepStrictEqual(seq[at], value)) seq[at] = copy(value);
  }

  fail(where: string, expected: string): Error {
    return invalid(`${this.label}: ${where.replace(/^\./, '')}: expected ${expected}`);
  }
}
