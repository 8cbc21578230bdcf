/**
 * The bytes of LLM request bodies the process holds at once, across every connection and policy
 * generation (`limits.maxBufferedBytes`, docs/policy.md#limits). Each body is bounded by
 * `limits.maxRequestBody`; this bounds their sum, so that many large bodies arriving together are
 * refused one by one with a 503 instead of growing the heap past the pod's memory limit.
 * Plain bookkeeping: bytes are taken as they arrive and given back when the call ends.
 */
export class BodyBudget {
  /** The most bytes held at once. */
  limit: number;
  #held: number;

  constructor(limit: number) {
    this.limit = limit;
    this.#held = 0;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** Takes `n` bytes; false (and nothing taken) when that would pass the limit. */
  take(n: number): boolean {
    if (this.#held + n > this.limit) return false;
    this.#held += n;
    return true;
  }

  /** Gives back `n` bytes taken earlier. */
  give(n: number): void {
    this.#held = Math.max(0, this.#held - n);
  }
}
