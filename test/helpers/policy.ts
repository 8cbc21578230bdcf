import { expect } from 'vitest';
import { parsePolicy, PolicyError } from '../../src/policy/index.ts';

/** Parses `text` expecting it to be refused; returns the `PolicyError` (the test fails otherwise). */
export function policyError(
  text: string,
  file: string | null = 'p.yaml',
  env: Record<string, string | undefined> = {},
): PolicyError {
  try {
    parsePolicy(text, { file, env });
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return err as PolicyError;
  }
  throw new Error('expected the policy to be rejected');
}
