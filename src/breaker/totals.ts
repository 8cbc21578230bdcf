/** Counters of one breaker since its creation, never reset (the `total_*` fields of a snapshot). */
export class Totals {
  /** Calls admitted. */
  requests = 0;
  successes = 0;
  /** Failures of any kind (timeouts included). */
  failures = 0;
  /** Failures of kind `timeout` or `idle_timeout`. */
  timeouts = 0;
  /** Calls refused by the breaker. */
  rejections = 0;

  /** The `total_*` fields of a snapshot. */
  view(): {
    total_requests: number;
    total_successes: number;
    total_failures: number;
    total_timeouts: number;
    total_rejections: number;
  } {
    return {
      total_requests: this.requests,
      total_successes: this.successes,
      total_failures: this.failures,
      total_timeouts: this.timeouts,
      total_rejections: this.rejections,
    };
  }
}
