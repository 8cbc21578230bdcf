import { isDeepStrictEqual } from 'node:util';
import { isMap, isNode, isScalar, isSeq, Pair, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { invalid } from './options.ts';
import { isRecord, type Json, type PodTree } from './tree.ts';

/**
 * Edits one parsed YAML document in place and remembers whether anything changed. Every write
 * first compares with what is there, so a second run over its own output changes nothing; scalars
 * are updated in place and maps merged key by key, so comments on the nodes that stay are kept.
 */
export class DocEditor implements PodTree<YAMLMap, YAMLSeq> {
  readonly doc: Document;
  /** Prefix of error messages: `document 2 (Deployment web)`. */
  readonly label: string;
  readonly #lineOf: (offset: number) => number;
  #changed = false;

  constructor(doc: Document, label: string, lineOf: (offset: number) => number) {
    this.doc = doc;
    this.label = label;
    this.#lineOf = lineOf;
  }

  /** True once any write changed the document. */
  get changed(): boolean {
    return this.#changed;
  }

  /** A `BW_ERR_MANIFEST_INVALID` error naming the document, the line of `node` and the path. */
  fail(where: string, expected: string, node?: unknown): Error {
    const range = isNode(node) ? node.range : undefined;
    const line = range ? `, line ${this.#lineOf(range[0])}` : '';
    return invalid(`${this.label}${line}: ${where.replace(/^\./, '')}: expected ${expected}`);
  }

  isMap(node: unknown): node is YAMLMap {
    return isMap(node);
  }

  isSeq(node: unknown): node is YAMLSeq {
    return isSeq(node);
  }

  /** The node at `parent[key]` (a Scalar, YAMLMap or YAMLSeq); undefined when absent. */
  node(parent: YAMLMap, key: string): unknown {
    return parent.get(key, true);
  }

  items(seq: YAMLSeq): readonly unknown[] {
    return seq.items;
  }

  /** The plain value of a node; undefined when absent. */
  js(node: unknown): unknown {
    return isNode(node) ? node.toJS(this.doc) : node;
  }

  /** Plain value of `parent[key]`; undefined when absent. */
  get(parent: YAMLMap, key: string): unknown {
    return this.js(parent.get(key, true));
  }

  #create(value: unknown): unknown {
    // Never anchors/aliases for repeated objects (probes share shapes): manifests stay plain.
    return this.doc.createNode(value, { aliasDuplicateObjects: false });
  }

  #absent(node: unknown): boolean {
    return node === undefined || (isScalar(node) && node.value === null);
  }

  /** The map at `parent[key]`, created (at `before`'s position when given) when absent. */
  map(parent: YAMLMap, key: string, where: string, before?: string): YAMLMap {
    const node = parent.get(key, true);
    if (this.#absent(node)) return this.#insertKey(parent, key, {}, before) as YAMLMap;
    if (!isMap(node)) throw this.fail(`${where}.${key}`, 'a map', node);
    return node;
  }

  /** The list at `parent[key]`, created (at `before`'s position when given) when absent. */
  seq(parent: YAMLMap, key: string, where: string, before?: string): YAMLSeq {
    const node = parent.get(key, true);
    if (this.#absent(node)) return this.#insertKey(parent, key, [], before) as YAMLSeq;
    if (!isSeq(node)) throw this.fail(`${where}.${key}`, 'a list', node);
    return node;
  }

  #insertKey(parent: YAMLMap, key: string, value: unknown, before?: string): unknown {
    const node = this.#create(value);
    this.#changed = true;
    const at = before === undefined ? -1 : parent.items.findIndex((p) => this.js(p.key) === before);
    if (parent.has(key)) parent.set(key, node);
    else if (at < 0) parent.items.push(new Pair(key, node));
    else parent.items.splice(at, 0, new Pair(key, node));
    return node;
  }

  /** Makes `parent[key]` equal `value`, touching nothing when it already is. */
  set(parent: YAMLMap, key: string, value: unknown): void {
    const node = parent.get(key, true);
    if (node !== undefined && isDeepStrictEqual(this.js(node), value)) return;
    this.#changed = true;
    if (node !== undefined && this.#assignInPlace(node, value)) return;
    if (parent.has(key)) parent.set(key, this.#create(value));
    else parent.items.push(new Pair(key, this.#create(value)));
  }

  #setItem(seq: YAMLSeq, index: number, value: unknown): void {
    const node = seq.items[index];
    if (isDeepStrictEqual(this.js(node), value)) return;
    this.#changed = true;
    if (!this.#assignInPlace(node, value)) seq.items[index] = this.#create(value);
  }

  #assignInPlace(node: unknown, value: unknown): boolean {
    if (isScalar(node) && value !== null && typeof value !== 'object' && typeof value === typeof node.value) {
      node.value = value;
      return true;
    }
    if (isMap(node) && isRecord(value)) {
      for (const [k, v] of Object.entries(value)) this.set(node, k, v);
      for (const pair of [...node.items]) {
        const k = this.js(pair.key);
        if (typeof k !== 'string' || !(k in value)) node.delete(pair.key);
      }
      return true;
    }
    if (isSeq(node) && Array.isArray(value) && node.items.length === value.length) {
      value.forEach((v, i) => this.#setItem(node, i, v));
      return true;
    }
    return false;
  }

  /** Removes `parent[key]` when present. */
  delete(parent: YAMLMap, key: string): void {
    if (parent.delete(key)) this.#changed = true;
  }

  /** Index of the map in `seq` whose `name` is `name`; -1 when there is none. */
  indexByName(seq: YAMLSeq, name: string): number {
    return seq.items.findIndex((item) => isMap(item) && this.js(item.get('name', true)) === name);
  }

  /** Inserts `value` at `index` (-1: at the end); returns the new node. */
  insert(seq: YAMLSeq, index: number, value: unknown): unknown {
    const node = this.#create(value);
    this.#changed = true;
    if (index < 0) seq.items.push(node);
    else seq.items.splice(index, 0, node);
    return node;
  }

  /** Removes the item at `index`; returns its plain value. */
  removeAt(seq: YAMLSeq, index: number): unknown {
    const [node] = seq.items.splice(index, 1);
    this.#changed = true;
    return this.js(node);
  }

  /** Makes the item named `value.name` equal `value` (merged in place), appending it when absent. */
  upsertNamed(seq: YAMLSeq, value: Json & { name: string }): void {
    const at = this.indexByName(seq, value.name);
    if (at < 0) this.insert(seq, -1, value);
    else this.#setItem(seq, at, value);
  }
}
