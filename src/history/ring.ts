/**
 * A fixed-capacity ring: pushing past capacity drops the oldest entry. Memory is bounded by
 * `capacity` entries, allocated as they arrive.
 */
export class Ring<T> {
  readonly capacity: number;
  readonly #items: T[] = [];
  #next = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity: expected ≥ 1, got ${capacity}`);
    this.capacity = capacity;
  }

  push(item: T): void {
    if (this.#items.length < this.capacity) this.#items.push(item);
    else this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Entries oldest first. */
  toArray(): T[] {
    if (this.#items.length < this.capacity) return this.#items.slice();
    return [...this.#items.slice(this.#next), ...this.#items.slice(0, this.#next)];
  }
}
