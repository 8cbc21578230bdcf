import { describe, expect, it } from 'vitest';
import { JsonScanner, type JsonLimit } from '../../src/proxy/json-scan.ts';

/** Members (object keys + array items) of a parsed JSON value, counted the slow, obvious way. */
function membersOf(v: unknown): number {
  if (Array.isArray(v)) return v.length + v.reduce((n: number, x) => n + membersOf(x), 0);
  if (typeof v === 'object' && v !== null) {
    return Object.values(v).reduce((n: number, x) => n + 1 + membersOf(x), 0);
  }
  return 0;
}

function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (typeof v === 'object' && v !== null) return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

/** Scans `text` split into chunks of `size` bytes; returns the verdict and the members counted. */
function scan(text: string, size: number, maxDepth = 1000, maxMembers = 1e9) {
  const s = new JsonScanner(maxDepth, maxMembers);
  const bytes = Buffer.from(text);
  let over: JsonLimit | null = null;
  for (let i = 0; i < bytes.length && over === null; i += size) over = s.push(bytes.subarray(i, i + size));
  return { over, members: s.members };
}

const SAMPLES = [
  '{}',
  '[]',
  '{"a":1}',
  '{ "model" : "m" , "messages" : [ { "role":"user","content":"hi" } ] }',
  '{"a":[[],[[]],{},{"b":{}}],"c":null}',
  '{"s":"commas, [brackets] {braces} and \\"quotes\\" inside","t":"\\\\","u":"\\\\\\""}',
  '{"k\\"ey":["\\u005b","\\\\\\\\",",,,",""]}',
  '{"é":"ünïcödé, [x]","emoji":"🙂,{}"}',
  '\n\t{\r\n "a" :\t[ 1 ,\n2 , 3 ] }\n',
];

describe('JsonScanner', () => {
  it.each(SAMPLES)('counts the members JSON.parse sees in %s whatever the chunk size', (text) => {
    const expected = membersOf(JSON.parse(text));
    for (const size of [1, 2, 3, 7, 64, 1 << 16]) {
      expect(scan(text, size).members).toBe(expected);
    }
  });

  it('counts like JSON.parse when random bodies hold strings of quotes and backslash runs', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const str = (): string =>
      Array.from({ length: rand(80) }, () => ['\\', '"', 'x', '[', ',', '{', 'é'][rand(7)]).join('');
    const value = (depth: number): unknown => {
      const k = depth > 4 ? rand(3) : rand(5);
      if (k === 0) return str();
      if (k === 1) return rand(1000);
      if (k === 2) return null;
      if (k === 3) return Array.from({ length: rand(6) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: rand(6) }, () => [str(), value(depth + 1)]));
    };
    for (let i = 0; i < 200; i++) {
      const text = JSON.stringify({ v: value(0) });
      const expected = membersOf(JSON.parse(text));
      for (const size of [1, 5, 33, 4096]) expect(scan(text, size).members).toBe(expected);
    }
  });

  it('refuses at the member after the limit when keys or items are too many', () => {
    const text = JSON.stringify({ input: Array.from({ length: 100 }, (_, i) => i) });
    expect(scan(text, 5, 64, 101).over).toBeNull();
    expect(scan(text, 5, 64, 100).over).toBe('members');
  });

  it('refuses at the level after the limit when nesting is too deep', () => {
    const ok = `{"a":${'['.repeat(63)}${']'.repeat(63)}}`;
    expect(depthOf(JSON.parse(ok))).toBe(64);
    expect(scan(ok, 3, 64).over).toBeNull();
    expect(scan(`{"a":${'['.repeat(64)}${']'.repeat(64)}}`, 3, 64).over).toBe('depth');
  });

  it('stops at the first chunk past the limit when the body is a million keys', () => {
    const s = new JsonScanner(64, 20_000);
    const chunk = Buffer.from(Array.from({ length: 5000 }, (_, i) => `"k${i}":1,`).join(''));
    let pushes = 0;
    let over: JsonLimit | null = s.push(Buffer.from('{'));
    while (over === null && pushes < 1000) {
      over = s.push(chunk);
      pushes++;
    }
    expect(over).toBe('members');
    // 1 + 5000 members per chunk: the 4th chunk brings the count to 20 001.
    expect(pushes).toBe(4);
  });

  it('does not take brackets inside strings for nesting when a string spans chunks', () => {
    const text = `{"a":"${'['.repeat(500)}\\"${'{'.repeat(500)}"}`;
    for (const size of [1, 2, 9, 100]) expect(scan(text, size, 2).over).toBeNull();
  });

  it('never throws and stays within its counters when the bytes are not JSON', () => {
    const junk = [
      ']]]]}}}',
      '"unterminated [[[',
      '\\\\\\"',
      Buffer.from([0xff, 0xfe, 0x5b, 0x00]).toString('latin1'),
    ];
    for (const text of junk) expect(() => scan(text, 1, 3, 3)).not.toThrow();
    expect(scan(']]]][', 1, 1).over).toBeNull();
  });
});
