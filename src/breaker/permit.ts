import type { Permit } from './types.ts';

/** The permit a breaker hands out; `settled` makes a second outcome for the same call a no-op. */
export class IssuedPermit implements Permit {
  readonly trial: boolean;
  readonly generation: number;
  settled = false;

  constructor(trial: boolean, generation: number) {
    this.trial = trial;
    this.generation = generation;
  }
}

/**
 * Marks `permit` settled. Returns true for its first outcome, false for any later one (to be
 * ignored). A permit the breaker did not issue cannot be tracked and always counts.
 */
export function settleOnce(permit: Permit): boolean {
  if (!(permit instanceof IssuedPermit)) return true;
  if (permit.settled) return false;
  permit.settled = true;
  return true;
}
