import { describe, expect, it } from 'vitest';
import { jsonPatch } from '../../src/kube/index.ts';
import { applyPatch } from './webhook-helpers.ts';

type Json = Record<string, unknown>;

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed by its seed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['name', 'value', 'a/b', 'c~d', 'env', 'x'];

function value(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth > 3 || r < 0.3) return [1, 'one', true, null, 'two'][Math.floor(rand() * 5)];
  if (r < 0.6) {
    return Array.from({ length: Math.floor(rand() * 4) }, (_, i) =>
      rand() < 0.5 ? { name: `n${i}`, value: value(rand, depth + 1) } : value(rand, depth + 1),
    );
  }
  const o: Json = {};
  for (const k of KEYS) if (rand() < 0.4) o[k] = value(rand, depth + 1);
  return o;
}

/** `v` with a few random edits: keys added, removed and changed, list items inserted and removed. */
function mutate(rand: () => number, v: unknown): unknown {
  if (Array.isArray(v)) {
    const out = (v as unknown[]).map((item) => (rand() < 0.3 ? mutate(rand, item) : item));
    if (rand() < 0.4) out.splice(Math.floor(rand() * (out.length + 1)), 0, { name: 'new', value: 1 });
    if (out.length > 0 && rand() < 0.3) out.splice(Math.floor(rand() * out.length), 1);
    return out;
  }
  if (typeof v === 'object' && v !== null) {
    const out: Json = {};
    for (const [k, item] of Object.entries(v))
      if (rand() > 0.15) out[k] = rand() < 0.4 ? mutate(rand, item) : item;
    if (rand() < 0.3) out[KEYS[Math.floor(rand() * KEYS.length)]!] = value(rand, 2);
    return out;
  }
  return rand() < 0.3 ? value(rand, 3) : v;
}

describe('jsonPatch', () => {
  it('turns before into after when applied by an RFC 6902 implementation (500 random pairs)', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const rand = prng(seed);
      const before = { spec: value(rand, 0), metadata: { annotations: { 'breakwater.io/x': 'y' } } };
      const after = mutate(rand, before) as Json;
      const patch = jsonPatch(before, after);
      expect(applyPatch(before, patch), `seed ${seed}`).toEqual(after);
      if (JSON.stringify(before) === JSON.stringify(after)) expect(patch).toEqual([]);
    }
  });

  it('escapes ~ and / in keys and adds one item where a named list grew', () => {
    const before = {
      metadata: { annotations: { 'a~b/c': '1' } },
      spec: { volumes: [{ name: 'a' }, { name: 'b' }] },
    };
    const after = {
      metadata: { annotations: { 'a~b/c': '2' } },
      spec: { volumes: [{ name: 'a' }, { name: 'mid' }, { name: 'b' }] },
    };
    expect(jsonPatch(before, after)).toEqual([
      { op: 'replace', path: '/metadata/annotations/a~0b~1c', value: '2' },
      { op: 'add', path: '/spec/volumes/1', value: { name: 'mid' } },
    ]);
  });
});
