/**
 * Provider health's types and its port: each target's breaker state, shared by every instance and
 * changed only by conditional writes, and the fleet-wide outcome counters in time slots.
 */
import type { ProviderLimits } from '../ai/provider-limits';

/** Manual failover: a target taken out of rotation by an admin until `until`. */
export interface ManualOverride {
  state: 'down' | 'maintenance';
  until: number;
  by: string;
  reason: string;
  at: number;
}

/** One target's breaker, as stored (times in ms). `half-open` is an open breaker whose `openUntil` has passed. */
export interface TargetState {
  /** Version, incremented by every write: writes are conditional on the version they read. */
  v: number;
  state: 'closed' | 'open';
  /** While open: when the single probe may go. */
  openUntil: number;
  /** Times the breaker opened since it last closed (the cooldown grows with it). */
  openings: number;
  /** The half-open probe in flight, claimed by one request of the fleet until `until`. */
  probe?: { by: string; until: number };
  /** The provider said 429: the target is skipped until then. */
  coolingUntil?: number;
  manual?: ManualOverride;
  changedAt: number;
  /** When the breaker last closed (after a probe, or put back by an admin): the failure rate counts from there. */
  closedAt?: number;
  /** Why it last changed (`5 consecutive failures`, `probe succeeded`, ...). */
  reason: string;
}

export const CLOSED: TargetState = { v: 0, state: 'closed', openUntil: 0, openings: 0, changedAt: 0, reason: 'never failed' };

/** What one instance adds to a target's counters in one write. */
export interface OutcomeDelta {
  successes: number;
  failures: number;
  /** Failures after the last success of this batch (all of them when it has no success). */
  trailingFailures: number;
  hadSuccess: boolean;
  tokens: number;
  /** Latency and time-to-first-event histograms of the successes: bucket -> count (see `histogramBucket`). */
  latency: Record<string, number>;
  firstEvent: Record<string, number>;
  limits?: ProviderLimits;
}

/** One time slot of a target's counters. */
export interface StatsSlot {
  /** Absolute slot number: `floor(time / SLOT_MS)`. */
  slot: number;
  successes: number;
  failures: number;
  tokens: number;
  latency: Record<string, number>;
  firstEvent: Record<string, number>;
}

/** A target's fleet-wide counters as stored: recent slots, failures in a row, the last outcome's time. */
export interface TargetStats {
  slots: StatsSlot[];
  consecutiveFailures: number;
  lastAt: number;
  limits?: ProviderLimits;
}

/** Port: where breaker states and counters live (DynamoDB: one item of states, one counters item per target). */
export interface HealthStore {
  /** Every target's state. */
  states(): Promise<Record<string, TargetState>>;
  /** Writes `next` for `key` if its stored version is still `expected` (0: never written); false otherwise. */
  transition(key: string, expected: number, next: TargetState): Promise<boolean>;
  /** Adds `delta` to the target's slot `slot` (a ring of `ringSize` slots) and returns the counters after it. */
  record(key: string, delta: OutcomeDelta, slot: number, ringSize: number, now: number): Promise<TargetStats>;
  /** The counters of these targets (absent ones are empty). */
  stats(keys: string[]): Promise<Record<string, TargetStats>>;
  /** Starts the count of failures in a row again (the breaker closed: the failures that opened it are history). */
  resetFailures(key: string): Promise<void>;
}
