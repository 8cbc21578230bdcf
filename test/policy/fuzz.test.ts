import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { BreakwaterError, ErrorCode } from '../../src/errors/index.ts';
import { loadPolicyFile, parsePolicy, type Policy } from '../../src/policy/index.ts';

const FILE = 'fuzz/policy.yaml';
const FULL = readFileSync(join(import.meta.dirname, '../../config/full.yaml'), 'utf8');
const ENV = { KEY: 'k', EMPTY: '' };
// Run counts keep the whole file to a few seconds.
const RUNS = { numRuns: 60 };

/** The property of every input: a Policy, or a BreakwaterError BW_ERR_POLICY_INVALID naming the file. */
function loadsOrRejects(run: () => Policy, file = FILE): Policy | null {
  try {
    return run();
  } catch (err) {
    expect(err).toBeInstanceOf(BreakwaterError);
    expect((err as BreakwaterError).code).toBe(ErrorCode.POLICY_INVALID);
    const lines = (err as Error).message.split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.startsWith(`${file}:`)).toBe(true);
    return null;
  }
}

const parse = (text: string): Policy | null =>
  loadsOrRejects(() => parsePolicy(text, { file: FILE, env: ENV }));

/** Fragments of YAML and of policies, to build documents that get past the first lexer error. */
const FRAGMENTS = [
  '- ',
  ': ',
  ' ',
  '  ',
  '\n',
  '\t',
  '[',
  ']',
  '{',
  '}',
  ', ',
  '&a ',
  '*a',
  '&b ',
  '*b',
  '? ',
  '!!str ',
  '!!map ',
  '!x ',
  '|\n',
  '>-\n',
  '"',
  "'",
  '# c',
  '---\n',
  '...\n',
  '%YAML 1.2\n',
  '<<: ',
  '~',
  'null',
  'true',
  '0x1F',
  '1e999',
  '-1',
  '.inf',
  '5s',
  '8MiB',
  '50%',
  '${KEY}',
  '${MISSING}',
  '${KEY:-d}',
  '$${',
  '${',
  'upstreams',
  'url',
  'http://a',
  'http://u:p@a:1/x',
  'redis://:p@w@r',
  'routes',
  'chain',
  'upstream',
  'cache',
  'degraded',
  'listen',
  'admin',
  'token',
  'breaker',
  'failureThreshold',
  'headers',
  'models',
  'é',
  '\u0000',
  '\ufeff',
  '\u2028',
];

const yamlish = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 60 }).map((parts) => parts.join(''));

/** A JSON-like value whose leaves are often of the kinds the policy uses. */
const leaf = fc.oneof(
  fc.constantFrom('5s', '250ms', '8MiB', '50%', 'http://a:1', 'redis://r', 'memory', 'chain', '', '${KEY}'),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 700 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
);
const anyValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 10 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

type Doc = Record<string, unknown>;

/** Paths to every value of a parsed document. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function container(doc: unknown, path: (string | number)[]): Record<string | number, unknown> | null {
  let v = doc;
  for (const seg of path.slice(0, -1)) v = (v as Record<string | number, unknown>)[seg];
  return typeof v === 'object' && v !== null ? (v as Record<string | number, unknown>) : null;
}

interface Mutation {
  kind: string;
  at: number;
  value: unknown;
  suffix: string;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'rename', 'replace'),
  at: fc.nat(),
  value: anyValue,
  suffix: fc.constantFrom('x', 's', '_', 'Ms', ''),
});

function mutate(doc: Doc, muts: readonly Mutation[]): Doc {
  for (const m of muts) {
    const all = paths(doc).filter((p) => p.length > 0);
    const path = all[m.at % all.length];
    if (!path) break;
    const parent = container(doc, path);
    const key = path.at(-1)!;
    if (!parent) continue;
    if (m.kind === 'delete' && !Array.isArray(parent)) delete parent[key];
    else if (m.kind === 'rename' && !Array.isArray(parent)) {
      const v = parent[key];
      delete parent[key];
      parent[`${String(key)}${m.suffix}`] = v;
    } else parent[key] = m.value;
  }
  return doc;
}

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).filter((n) => n !== 'cache' && n !== 'degraded');
const duration = fc
  .tuple(fc.integer({ min: 1, max: 600 }), fc.constantFrom('ms', 's', 'm'))
  .map(([n, u]) => `${n}${u}`);
const validPolicy = fc
  .record({
    names: fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
    threshold: fc.integer({ min: 1, max: 50 }),
    connect: duration,
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
    port: fc.integer({ min: 1, max: 65535 }),
    maxConcurrent: fc.integer({ min: 1, max: 10_000 }),
    failOn: fc.uniqueArray(fc.integer({ min: 100, max: 599 }), { maxLength: 5 }),
    withRoutes: fc.boolean(),
    // `$` starts `${...}`, which the loader interpolates.
    message: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== '' && !s.includes('$')),
  })
  .map((g) => {
    const upstreams = Object.fromEntries(
      g.names.map((n) => [
        n,
        {
          url: `http://${n}:${g.port}`,
          timeout: { connect: g.connect },
          breaker: { failureThreshold: g.threshold, jitter: g.jitter },
          maxConcurrent: g.maxConcurrent,
          failOn: g.failOn,
        },
      ]),
    );
    const routes = [
      {
        name: 'r',
        chain: [
          ...g.names.map((upstream) => ({ upstream })),
          { cache: {} },
          { degraded: { message: g.message } },
        ],
      },
    ];
    return { gen: g, text: stringify(g.withRoutes ? { upstreams, routes } : { upstreams }) };
  });

describe('policy loader properties', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bw-fuzz-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads or rejects cleanly when the text is any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => void parse(s)),
      RUNS,
    );
  });

  it('loads or rejects cleanly when the text is YAML-ish', () => {
    fc.assert(
      fc.property(yamlish, (s) => void parse(s)),
      { numRuns: 250 },
    );
  });

  it('loads or rejects cleanly when the document is any YAML value', () => {
    fc.assert(
      fc.property(anyValue, (v) => void parse(stringify(v))),
      RUNS,
    );
  });

  it('loads or rejects cleanly when the file holds any bytes', async () => {
    const file = join(dir, 'policy.yaml');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        await writeFile(file, bytes);
        let err: unknown = null;
        await loadPolicyFile(file, { env: ENV }).catch((e: unknown) => (err = e));
        if (err !== null)
          loadsOrRejects(() => {
            throw err;
          }, file);
      }),
      { numRuns: 25 },
    );
  });

  it('loads or rejects cleanly when a valid policy is mutated', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        const doc = mutate(parseYaml(FULL) as Doc, muts);
        parse(stringify(doc));
      }),
      { numRuns: 40 },
    );
  });

  it('loads every generated valid policy with the values it was given', () => {
    fc.assert(
      fc.property(validPolicy, ({ gen, text }) => {
        const policy = parsePolicy(text, { file: FILE, env: {} });
        expect(policy.upstreams.map((u) => u.name)).toEqual(gen.names);
        for (const u of policy.upstreams) {
          expect(u.breaker.failureThreshold).toBe(gen.threshold);
          expect(u.breaker.jitter).toBe(gen.jitter);
          expect(u.port).toBe(gen.port);
          expect(u.maxConcurrent).toBe(gen.maxConcurrent);
          expect([...u.failOn].sort()).toEqual([...new Set(gen.failOn)].sort());
        }
        const last = policy.routes[0]!.chain.at(-1)!;
        expect(last.kind === 'degraded' ? last.message : null).toBe(
          gen.withRoutes ? gen.message : 'Service temporarily unavailable',
        );
      }),
      RUNS,
    );
  });
});
