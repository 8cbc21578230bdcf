import { describe, expect, it } from 'vitest';
import { policyError } from '../helpers/policy.ts';
import { ErrorCode } from '../../src/errors/index.ts';
import { parsePolicy, POLICY_LIMITS, PolicyError, type PolicyProblem } from '../../src/policy/index.ts';

const FILE = 'policy.yaml';
const UPSTREAMS = 'upstreams: { a: { url: "http://a" } }\n';

function rejected(text: string): PolicyError {
  const err = policyError(text, FILE);
  expect(err.code).toBe(ErrorCode.POLICY_INVALID);
  return err;
}

const only = (err: PolicyError): PolicyProblem => {
  expect(err.problems).toHaveLength(1);
  return err.problems[0]!;
};

/** `n` lines `k<i>: <i>` in one mapping, each indented by `indent`. */
const keys = (n: number, indent = ''): string =>
  Array.from({ length: n }, (_, i) => `${indent}k${i}: ${i}\n`).join('');

describe('policy file limits', () => {
  it('refuses a file over 1 MiB without parsing it', () => {
    const text = `${UPSTREAMS}# ${'x'.repeat(POLICY_LIMITS.maxFileBytes)}\n`;
    const p = only(rejected(text));
    expect(p).toMatchObject({ file: FILE, line: null, path: '' });
    expect(p.message).toBe(
      `expected at most 1,048,576 bytes (1 MiB), got ${Buffer.byteLength(text).toLocaleString('en-US')} (a policy file limit, see docs/policy.md)`,
    );
  });

  it('counts bytes, not characters, against the size limit', () => {
    // 2 bytes a character: half the limit in characters is over it in bytes.
    const text = `${UPSTREAMS}# ${'é'.repeat(POLICY_LIMITS.maxFileBytes / 2)}\n`;
    expect(only(rejected(text)).message).toMatch(/^expected at most 1,048,576 bytes/);
  });

  it('stops lexing at the token limit and names the line where it was reached', () => {
    // The 1,000,005-byte file of 63,816 keys that froze a reload for ~50 s.
    let text = '';
    for (let i = 0; text.length < 1_000_005 - 20; i++) text += `k${i}: ${i}\n`;
    const started = performance.now();
    const p = only(rejected(text));
    expect(p.message).toBe(
      'expected at most 50,000 YAML tokens, got more (a policy file limit, see docs/policy.md)',
    );
    // Each `kN: N\n` line is 5 tokens: the 50,001st is on line 10,001.
    expect(p).toMatchObject({ line: 10_001, column: 1 });
    // Generous: linear work on ~50k tokens, on a loaded machine.
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('counts blank lines as tokens', () => {
    const p = only(rejected(`${UPSTREAMS}${'\n'.repeat(POLICY_LIMITS.maxTokens + 10)}`));
    expect(p.message).toMatch(/^expected at most 50,000 YAML tokens/);
  });

  it('refuses a mapping with more keys than the limit, at the first key over it', () => {
    const p = only(rejected(`${UPSTREAMS}x:\n${keys(1001, '  ')}`));
    expect(p.message).toBe(
      'expected at most 1,000 keys in one mapping, got more (a policy file limit, see docs/policy.md)',
    );
    expect(p).toMatchObject({ line: 1003, column: 3 });
  });

  it('refuses more nodes than the limit', () => {
    const items = Array.from({ length: POLICY_LIMITS.maxNodes }, () => '1').join(', ');
    const p = only(rejected(`${UPSTREAMS}x: [${items}]\n`));
    expect(p.message).toMatch(/^expected at most 10,000 nodes, got more/);
    expect(p.line).toBe(2);
  });

  it('refuses flow nesting deeper than the limit while lexing', () => {
    const depth = POLICY_LIMITS.maxDepth + 1;
    const p = only(rejected(`${UPSTREAMS}x: ${'['.repeat(depth)}${']'.repeat(depth)}\n`));
    expect(p.message).toMatch(/^expected at most 32 levels of nesting, got more/);
    expect(p).toMatchObject({ line: 2, column: 3 + depth });
  });

  it('refuses block nesting deeper than the limit', () => {
    const depth = POLICY_LIMITS.maxDepth + 1;
    const text = Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k${i}:\n`).join('');
    const p = only(rejected(`${text}${' '.repeat(depth)}v: 1\n${UPSTREAMS}`));
    expect(p.message).toMatch(/^expected at most 32 levels of nesting, got more/);
    expect(p.line).toBe(depth);
  });

  it('refuses a scalar longer than the limit and says how long it is', () => {
    const p = only(rejected(`${UPSTREAMS}x: "${'y'.repeat(POLICY_LIMITS.maxScalarLength + 1)}"\n`));
    expect(p.message).toBe(
      'expected a scalar of at most 65,536 characters, got 65,537 (a policy file limit, see docs/policy.md)',
    );
    expect(p).toMatchObject({ line: 2, column: 4 });
  });

  it('refuses more aliases than the limit', () => {
    const aliases = Array.from({ length: POLICY_LIMITS.maxAliases + 1 }, () => '*a').join(', ');
    const p = only(rejected(`${UPSTREAMS}x: &a 1\ny: [${aliases}]\n`));
    expect(p.message).toMatch(/^expected at most 100 aliases, got more/);
  });

  it('refuses an alias bomb before expanding it', () => {
    const lol = '"lol"';
    let text = `a: &a [${Array(9).fill(lol).join(',')}]\n`;
    const names = 'abcdefghi';
    for (let i = 1; i < names.length; i++) {
      text += `${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(',')}]\n`;
    }
    const started = performance.now();
    const p = only(rejected(`${text}${UPSTREAMS}`));
    expect(p.message).toMatch(/^expected at most 10,000 nodes with aliases expanded, got more/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('refuses an alias inside the node it refers to', () => {
    const p = only(rejected(`${UPSTREAMS}x: &x [1, *x]\n`));
    expect(p).toMatchObject({
      line: 2,
      column: 11,
      message: 'expected an alias to a node that does not contain it, got a cycle',
    });
  });

  it('refuses a mapping or list as a key before toJS stringifies it', () => {
    // `toJS()` stringifies nested complex keys at a cost exponential in their nesting.
    const started = performance.now();
    const p = only(rejected(`${'? '.repeat(400)}1\n`));
    expect(p).toMatchObject({
      line: 1,
      column: 3,
      message: 'expected a plain key (a string), got a mapping as key',
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(only(rejected(`${UPSTREAMS}[a]: 1\n`)).message).toBe(
      'expected a plain key (a string), got a list as key',
    );
  });

  it('finds a duplicate key in linear time and names where it first appeared', () => {
    const p = only(rejected(`${UPSTREAMS}x:\n${keys(999, '  ')}  k5: again\n`));
    expect(p).toMatchObject({
      line: 1002,
      column: 3,
      message: 'YAML: Map keys must be unique ("k5" is first at line 8)',
    });
  });

  it('treats keys that toJS would merge as duplicates', () => {
    const p = only(rejected(`${UPSTREAMS}x: { 1: a, "1": b }\n`));
    expect(p.message).toBe('YAML: Map keys must be unique ("1" is first at line 2)');
  });

  it('lists at most maxProblems problems and counts the rest', () => {
    const err = rejected(`${UPSTREAMS}${keys(150)}`);
    expect(err.problems).toHaveLength(POLICY_LIMITS.maxProblems + 1);
    expect(err.problems.at(-1)).toEqual({
      file: FILE,
      line: null,
      column: null,
      path: '',
      message: '... and 50 more problems (the first 100 are listed)',
    });
  });

  it('keeps one problem per line when a message quotes line breaks from the file', () => {
    const err = rejected(`${UPSTREAMS}resolver: |\n  \${a\n  b}\n`);
    expect(err.message.split('\n')).toHaveLength(err.problems.length);
    expect(err.problems[0]!.message).toBe('expected ${NAME} or ${NAME:-default}, got "${a\\nb}"');
  });

  it('accepts a file at the edge of every limit', () => {
    const models = Array.from({ length: 1000 }, (_, i) => `        m${i}: "x"\n`).join('');
    const text = `upstreams:\n  a:\n    url: http://a\nroutes:\n  - name: r\n    chain:\n    - upstream: a\n      models:\n${models}`;
    const policy = parsePolicy(`${text}# ${'c'.repeat(POLICY_LIMITS.maxFileBytes - text.length - 3)}\n`, {
      file: null,
      env: {},
    });
    const tier = policy.routes[0]!.chain[0]!;
    expect(tier.kind === 'upstream' && Object.keys(tier.models)).toHaveLength(1000);
  });
});
