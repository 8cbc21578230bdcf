/**
 * A Set that cannot change once built: `add`, `delete` and `clear` throw a TypeError. It is still a
 * `Set` (fast `has`), so a frozen Policy can hold sets that stay frozen.
 */
export class FrozenSet<T> extends Set<T> {
  #sealed = false;

  constructor(values: Iterable<T>) {
    super();
    for (const v of values) super.add(v);
    this.#sealed = true;
  }

  override add(value: T): this {
    if (this.#sealed) throw new TypeError('Cannot add to a frozen set');
    return super.add(value);
  }

  override delete(_value: T): boolean {
    throw new TypeError('Cannot delete from a frozen set');
  }

  override clear(): void {
    throw new TypeError('Cannot clear a frozen set');
  }
}

/** Freezes `value` and everything reachable from it (objects, arrays, sets), in place; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (value instanceof Set) {
    for (const item of value as Set<unknown>) deepFreeze(item);
  } else {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
