import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The fleet's metrics (README, Metrics), registered on the process registry only in fleet mode.
 * Labels stay bounded: upstream names come from the policy, kinds and ops from fixed lists; pod
 * ids never become labels.
 */
export class FleetMetrics {
  /** `breakwater_fleet_peers`: pods of the group heard within the last 3 heartbeats, this one included. */
  readonly peers: Gauge;
  /** `breakwater_fleet_store_up`: 1 while the store answers, 0 while it is down. */
  readonly storeUp: Gauge;
  /** `breakwater_fleet_reports_sent_total{upstream,kind}`: kind `failing`, `ok`, `recovered`. */
  readonly reportsSent: Counter<'upstream' | 'kind'>;
  /** `breakwater_fleet_reports_received_total{upstream,kind}`: also `forced`, `reset`. */
  readonly reportsReceived: Counter<'upstream' | 'kind'>;
  /** `breakwater_fleet_opens_total{upstream}`: this pod's breaker opened by the group's judgement. */
  readonly fleetOpens: Counter<'upstream'>;
  /** `breakwater_fleet_probe_leases_total{upstream}`: probe leases this pod took. */
  readonly probeLeases: Counter<'upstream'>;
  /** `breakwater_fleet_budget_in_use{upstream}`: budget leases this pod holds (sum over pods = the group's). */
  readonly budgetInUse: Gauge<'upstream'>;
  /** `breakwater_fleet_budget_spills_total{upstream}`: calls the group's budget sent to the next tier. */
  readonly budgetSpills: Counter<'upstream'>;
  /** `breakwater_fleet_store_errors_total{op}`: failed or timed-out store commands. */
  readonly storeErrors: Counter<'op'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
      new Counter({ name, help, labelNames, registers });
    this.peers = new Gauge({
      name: 'breakwater_fleet_peers',
      help: 'Pods of the fleet group heard lately',
      registers,
    });
    this.storeUp = new Gauge({
      name: 'breakwater_fleet_store_up',
      help: '1 while the fleet store answers',
      registers,
    });
    this.reportsSent = counter('breakwater_fleet_reports_sent_total', 'Fleet reports sent', [
      'upstream',
      'kind',
    ]);
    this.reportsReceived = counter('breakwater_fleet_reports_received_total', 'Fleet reports received', [
      'upstream',
      'kind',
    ]);
    this.fleetOpens = counter('breakwater_fleet_opens_total', 'Breakers opened by the fleet', ['upstream']);
    this.probeLeases = counter('breakwater_fleet_probe_leases_total', 'Probe leases taken by this pod', [
      'upstream',
    ]);
    this.budgetInUse = new Gauge({
      name: 'breakwater_fleet_budget_in_use',
      help: 'Fleet budget leases held by this pod',
      labelNames: ['upstream'],
      registers,
    });
    this.budgetSpills = counter('breakwater_fleet_budget_spills_total', 'Calls spilled by the fleet budget', [
      'upstream',
    ]);
    this.storeErrors = counter('breakwater_fleet_store_errors_total', 'Fleet store commands that failed', [
      'op',
    ]);
    this.peers.set(0);
    this.storeUp.set(0);
  }
}
