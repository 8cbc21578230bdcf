/**
 * Bounds on a policy file, checked before and while it is parsed (docs/policy.md, "Limits").
 * All pods of a Deployment mount the same ConfigMap, so one hostile or broken file must never stop
 * a pod: every limit turns such a file into a `BW_ERR_POLICY_INVALID` error that names the file,
 * and the reload keeps the last good policy. They are constants, not policy keys: a policy cannot
 * raise the bounds that protect its own parsing.
 *
 * Measured on the 2-core CI machine (docs/policy.md): the `yaml` parser costs ~3–20 µs per token
 * and ~0.3–0.5 KiB of heap per byte of dense input; 1 MiB of `k: v` lines (63,816 keys) took ~2 s
 * and ~200 MiB, `[1,1,…]` ~7 s and ~550 MiB. The token bound is what keeps a parse short.
 * `config/full.yaml` has 4.7 KiB, 775 tokens, 188 nodes, depth 6.
 */
export const POLICY_LIMITS = {
  /** Bytes in the file: 1 MiB, the most a ConfigMap holds. Checked before the file is read. */
  maxFileBytes: 1024 * 1024,
  /** YAML tokens (scalars, indicators, spaces, line breaks, comments): 50,000. Checked while lexing. */
  maxTokens: 50_000,
  /** Nodes (mappings, lists, scalars, aliases), also with aliases expanded: 10,000. */
  maxNodes: 10_000,
  /** Keys in one mapping: 1,000. */
  maxKeysPerMapping: 1_000,
  /** Nesting depth of mappings and lists: 32. */
  maxDepth: 32,
  /** Characters in one scalar (a key or a value): 64 KiB. */
  maxScalarLength: 64 * 1024,
  /** Alias nodes (`*name`): 100; their expansion is bounded too (the `yaml` package's maxAliasCount). */
  maxAliases: 100,
  /** Problems listed in one error; the rest are counted in a last line. */
  maxProblems: 100,
} as const;

/** A problem found before the policy is validated: where it is (a source offset) and what. */
export interface OffsetProblem {
  readonly offset: number;
  readonly message: string;
}

/** Formats a count with thousands separators, as the limit messages show it (`1,048,576`). */
export function formatCount(n: number): string {
  // Not toLocaleString: it builds an Intl formatter on every call (tens of ms on a loaded machine).
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `expected at most N things, got M (a policy file limit)`: the message of every exceeded bound. */
export function limitMessage(expected: string, got: string): string {
  return `expected ${expected}, got ${got} (a policy file limit, see docs/policy.md)`;
}
