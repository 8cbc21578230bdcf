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
}
