import { BreakerState, type CircuitBreaker } from '../breaker/index.ts';
import type { UpstreamPolicy } from '../policy/index.ts';
import type { FleetBudget } from './budget.ts';
import type { ProbeLease } from './lease.ts';
import type { FleetCommand } from './messages.ts';
import { StreakBoard, type QuorumRule } from './quorum.ts';

/** The group holds an upstream open. */
export interface GroupOpen {
  /** When the group opened it (Redis time, ms). */
  readonly since: number;
  /** The fleet trip reason, naming the pods that reported it. */
  readonly reason: string;
}

/** What one pod knows of one upstream of its group, and what it last reported. */
export class UpstreamLink {
  readonly name: string;
  readonly board: StreakBoard;
  readonly lease: ProbeLease;
  /** This pod's breaker; null until the sidecar's upstreams are bound. */
  breaker: CircuitBreaker | null = null;
  rule: QuorumRule;
  /** Lifetime of the group's open key unless refreshed: the window plus the longest recovery. */
  openTtlMs: number;
  budget: FleetBudget | null = null;
  group: GroupOpen | null = null;
  /** The group's open state was applied to this pod's breaker. */
  applied = false;
  /** The operator's fleet-wide forced open in force, if any. */
  forced: FleetCommand | null = null;
  /** This pod's breaker is open because the group opened it. */
  fleetOpened = false;
  /** Breaker state at the last tick. */
  lastState: BreakerState = BreakerState.CLOSED;
  /** Streak last reported (0: none). */
  reportedN = 0;
  lastSuccesses = 0;
  lastRejections = 0;

  constructor(name: string, policy: UpstreamPolicy, quorum: number, windowMs: number, lease: ProbeLease) {
    this.name = name;
    this.board = new StreakBoard(windowMs);
    this.lease = lease;
    this.rule = { quorum, failureThreshold: policy.breaker.failureThreshold };
    this.openTtlMs = windowMs + policy.breaker.maxRecoveryTimeoutMs;
  }

  /** Takes the (possibly reloaded) policy of the upstream. */
  setPolicy(policy: UpstreamPolicy, windowMs: number): void {
    this.rule = { quorum: this.rule.quorum, failureThreshold: policy.breaker.failureThreshold };
    this.openTtlMs = windowMs + policy.breaker.maxRecoveryTimeoutMs;
  }

  /** Binds this pod's breaker and syncs the sampling state with it. */
  setBreaker(breaker: CircuitBreaker, gate: () => boolean): void {
    if (this.breaker === breaker) return;
    this.breaker?.setProbeGate(null);
    this.breaker = breaker;
    breaker.setProbeGate(gate);
    this.lastState = breaker.state;
    this.reportedN = 0;
    this.lastSuccesses = breaker.totalSuccesses;
    this.lastRejections = breaker.snapshot().total_rejections;
  }

  /** Unbinds (the upstream left the policy). */
  detach(): void {
    this.breaker?.setProbeGate(null);
    this.breaker = null;
    this.lease.drop();
  }
}
