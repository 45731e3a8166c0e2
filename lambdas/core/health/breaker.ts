/**
 * The circuit breaker's state machine, as pure functions of (state, policy, counters, now):
 *
 *   closed --(N failures in a row, or failure rate over the window)--> open (cooldown)
 *   open --(cooldown over)--> half-open: exactly one request of the fleet claims the probe
 *   half-open --(probe succeeds)--> closed;  --(probe fails)--> open, with a longer cooldown
 *
 * A 429 does not count as a failure: the target cools (is skipped) until its `retry-after`. Manual
 * failover (`down`, `maintenance`) takes a target out of rotation until it expires or is lifted.
 * Every transition returns a new state with the version incremented: stores write it conditionally.
 */
import type { SkipReason, TargetAdmission } from '../ai/ports';
import type { CircuitBreakerPolicy } from '../ai/route-table';
import { CLOSED, type ManualOverride, type TargetState, type TargetStats } from './ports';
import { windowTotals } from './stats';

export type CircuitState = 'closed' | 'open' | 'half-open';

/** What a request may do with a target now: call it, try to claim the probe, or skip it until `retryAt`. */
export type Decision = TargetAdmission | { kind: 'claim_probe' };

export function circuitState(state: TargetState | undefined, now: number): CircuitState {
  if (!state || state.state === 'closed') return 'closed';
  return now >= state.openUntil ? 'half-open' : 'open';
}

const skip = (reason: Exclude<SkipReason, 'not_configured' | 'unsupported'>, retryAt: number): Decision => ({
  kind: 'skip',
  reason,
  retryAt,
});

export function decide(state: TargetState | undefined, policy: CircuitBreakerPolicy, now: number): Decision {
  if (!state) return { kind: 'call' };
  if (state.manual && state.manual.until > now)
    return skip(state.manual.state === 'down' ? 'manual_down' : 'maintenance', state.manual.until);
  if (state.coolingUntil !== undefined && state.coolingUntil > now) return skip('cooling', state.coolingUntil);
  if (!policy.enabled || state.state === 'closed') return { kind: 'call' };
  if (now < state.openUntil) return skip('circuit_open', state.openUntil);
  if (state.probe && state.probe.until > now) return skip('probe_in_flight', state.probe.until);
  return { kind: 'claim_probe' };
}

/**
 * Why the breaker should open given the fleet's counters, or undefined when it should stay closed.
 * The failure rate counts only calls made since the breaker last closed (`closedAt`): the failures
 * that opened it must not reopen it the moment its probe succeeds.
 */
export function openingReason(stats: TargetStats, policy: CircuitBreakerPolicy, now: number, closedAt = 0): string | undefined {
  if (stats.consecutiveFailures >= policy.consecutiveFailures) return `${stats.consecutiveFailures} consecutive failures`;
  const window = windowTotals(stats, now, policy.windowMs, closedAt);
  const calls = window.successes + window.failures;
  if (calls >= policy.minimumCalls && window.failures / calls >= policy.failureRate) {
    return `${window.failures} of ${calls} calls failed in ${Math.round(policy.windowMs / 1000)} s`;
  }
  return undefined;
}

/** The cooldown of the `openings`-th opening in a row (1 = first): grows by the multiplier, capped. */
export function cooldownFor(policy: CircuitBreakerPolicy, openings: number): number {
  return Math.min(policy.maxCooldownMs, Math.round(policy.cooldownMs * policy.cooldownMultiplier ** Math.max(0, openings - 1)));
}

const next = (state: TargetState | undefined, now: number, reason: string, changes: Partial<TargetState>): TargetState => {
  const { probe: _probe, ...base } = state ?? CLOSED;
  return { ...base, ...changes, v: (state?.v ?? 0) + 1, changedAt: now, reason };
};

/** Open (from closed, or again after a failed probe): the cooldown grows with each opening in a row. */
export function open(state: TargetState | undefined, policy: CircuitBreakerPolicy, now: number, reason: string): TargetState {
  const openings = (state?.state === 'open' ? state.openings : 0) + 1;
  return next(state, now, reason, { state: 'open', openings, openUntil: now + cooldownFor(policy, openings) });
}

export function close(state: TargetState | undefined, now: number, reason: string): TargetState {
  return next(state, now, reason, { state: 'closed', openings: 0, openUntil: 0, closedAt: now });
}

/** The half-open probe, claimed by `by` until `until` (after which another request may claim it). */
export function claimProbe(state: TargetState, now: number, by: string, until: number): TargetState {
  return { ...state, v: state.v + 1, probe: { by, until }, changedAt: now };
}

export function cool(state: TargetState | undefined, now: number, until: number): TargetState {
  const base = state ?? CLOSED;
  return {
    ...base,
    v: base.v + 1,
    coolingUntil: until,
    changedAt: now,
    reason: `rate limited by the provider until ${new Date(until).toISOString()}`,
  };
}

/** Manual failover: `down`/`maintenance` until it expires; `up` lifts it and closes the breaker. */
export function setManual(
  state: TargetState | undefined,
  now: number,
  override: ManualOverride | 'up',
  by: string,
  reason: string,
): TargetState {
  if (override === 'up') {
    const { manual: _manual, coolingUntil: _cooling, ...rest } = close(state, now, `put back in rotation by ${by}: ${reason}`);
    return rest;
  }
  return next(state, now, `${override.state} by ${by}: ${reason}`, { manual: override });
}
