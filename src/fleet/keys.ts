/**
 * Redis keys and the channel of one fleet group. Every name holds the group in a hash tag
 * (`{chat-api}`), so a Redis Cluster keeps a group's keys on one slot, as its Lua scripts need.
 */
export class FleetKeys {
  /** Pub/sub channel of the group's events (reports, recoveries, operator commands). */
  readonly channel: string;
  /** Sorted set: pod id → when it was last heard (Redis time, ms). */
  readonly pods: string;
  readonly #base: string;

  /**
   * @param prefix `fleet.keyPrefix`, default `breakwater:fleet:`.
   * @param group `fleet.group`.
   */
  constructor(prefix: string, group: string) {
    this.#base = `${prefix}{${group}}:`;
    this.channel = `${this.#base}events`;
    this.pods = `${this.#base}pods`;
  }

  /** String: one pod's view of its upstreams (JSON), expiring after 3 heartbeats. */
  pod(id: string): string {
    return `${this.#base}pod:${id}`;
  }

  /** Hash: pod id → that pod's failure report for the upstream (JSON), while the group's streak lasts. */
  streak(upstream: string): string {
    return `${this.#base}streak:${upstream}`;
  }

  /** String: the group holds the upstream open (JSON: since, reason), expiring unless refreshed. */
  open(upstream: string): string {
    return `${this.#base}open:${upstream}`;
  }

  /**
   * String: the group's last recovery (JSON: at, pod, reason), expiring. Lets a heartbeat that finds
   * the open state gone before the `recovered` event arrives (or when the event was lost) give the
   * prober's reason rather than a bare "no longer held open".
   */
  recovered(upstream: string): string {
    return `${this.#base}recovered:${upstream}`;
  }

  /** String: an operator forced the upstream open for the whole group (JSON: by, via, reason, at). */
  forced(upstream: string): string {
    return `${this.#base}forced:${upstream}`;
  }

  /** String: the pod that holds the upstream's probe lease, expiring (`fleet.leaseTtl`). */
  probe(upstream: string): string {
    return `${this.#base}probe:${upstream}`;
  }

  /** Sorted set: budget lease id → expiry (Redis time, ms). */
  budget(upstream: string): string {
    return `${this.#base}budget:${upstream}`;
  }
}
