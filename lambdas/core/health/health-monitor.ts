/**
 * Provider health across the fleet: the orchestrator's `TargetHealth`.
 *
 * Reads: an in-process copy of every target's breaker state, refreshed in the background every
 * `refreshMs` (and, on an instance idle for longer than `maxStaleMs`, once before deciding, bounded by
 * `readyTimeoutMs`), so a request decides with no DynamoDB round trip of its own. Only the request that
 * claims a half-open probe writes before calling (a conditional write: one winner in the fleet).
 *
 * Writes: outcomes are buffered per target and written after the response: failures at once; pending
 * successes one target per `flushMs` (the oldest first), so in steady state an instance makes at most
 * one write per `flushMs` whatever the number of targets. The write returns the fleet's counters; the instance whose write shows the
 * breaker must open makes the conditional transition and logs it. When the store is down, each instance
 * still opens its own copy of a breaker after `consecutiveFailures` local failures.
 */
import type { AttemptOutcome, RecentPerformance, TargetAdmission, TargetHealth, TargetPerformance } from '../ai/ports';
import { nearLimit, type ProviderLimits } from '../ai/provider-limits';
import { targetKey, type CircuitBreakerPolicy, type PlannedTarget } from '../ai/route-table';
import type { Clock } from '../ports';
import { errorFields } from '../errors';
import type { Telemetry } from '../telemetry';
import { circuitState, claimProbe, close, cool, decide, open, openingReason, setManual } from './breaker';
import type { HealthStore, ManualOverride, OutcomeDelta, TargetState, TargetStats } from './ports';
import { histogramBucket, histogramPercentile, ringSizeFor, SLOT_MS, slotOf, windowTotals } from './stats';
import { within } from '../within';

export interface HealthMonitorOptions {
  /** How often the states are read in the background (every instance sees a change within about this). */
  refreshMs: number;
  /** A view older than this is refreshed before a request decides on it. */
  maxStaleMs: number;
  /** Longest wait for that refresh, or for a probe claim, before deciding with what is known. */
  readyTimeoutMs: number;
  /** An instance writes pending successes at most this often (one target per write). */
  flushMs: number;
  /** A probe's claim lasts its first-event timeout plus this, after which another request may claim it. */
  probeGraceMs: number;
}

export const DEFAULT_HEALTH_OPTIONS: HealthMonitorOptions = {
  refreshMs: 1000,
  maxStaleMs: 2000,
  readyTimeoutMs: 250,
  flushMs: 1000,
  probeGraceMs: 5000,
};

interface Pending {
  delta: OutcomeDelta;
  policy: CircuitBreakerPolicy;
  /** When its first outcome arrived: the oldest pending target is written first. */
  since: number;
}

const emptyDelta = (): OutcomeDelta => ({
  successes: 0,
  failures: 0,
  trailingFailures: 0,
  hadSuccess: false,
  tokens: 0,
  latency: {},
  firstEvent: {},
});

export class HealthMonitor implements TargetHealth, TargetPerformance {
  private snapshot: Record<string, TargetState> = {};
  private fetchedAt = Number.NEGATIVE_INFINITY;
  /** When the last read ended, answered or not, and when the one on its way was sent. */
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private refreshSentAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly flushing = new Map<string, Promise<void>>();
  private paced: NodeJS.Timeout | undefined;
  private readonly claiming = new Set<string>();
  private readonly localFailures = new Map<string, number>();
  private readonly limits = new Map<string, ProviderLimits>();
  private readonly lastStats = new Map<string, TargetStats>();
  private interval: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: HealthStore,
    private readonly clock: Clock,
    private readonly telemetry: Telemetry,
    /** Names this instance in probe claims and transition logs. */
    private readonly instanceId: string,
    /** Post-response work: writes are tracked there so a Lambda invocation waits for them. */
    private readonly track: (work: Promise<unknown>) => void,
    private readonly options: HealthMonitorOptions = DEFAULT_HEALTH_OPTIONS,
  ) {}

  /** Starts the background refresh (the first one at once). */
  start(): void {
    void this.refresh();
    this.interval ??= setInterval(() => void this.refresh(), this.options.refreshMs);
    this.interval.unref?.();
  }

  stop(): void {
    clearInterval(this.interval);
    this.interval = undefined;
    clearTimeout(this.paced);
    this.paced = undefined;
  }

  /** Reads every state from the store; a failed read keeps the last view (and its age). */
  refresh(): Promise<void> {
    if (!this.refreshing) this.refreshSentAt = this.clock.now();
    this.refreshing ??= this.store
      .states()
      .then((states) => {
        for (const [key, state] of Object.entries(this.snapshot)) {
          const read = states[key];
          // A state this instance wrote while the read was on its way is newer than the read; local-only
          // openings (made while the store was down) stay until the store has its own word.
          if (state.v < 0 ? !read : state.v > (read?.v ?? 0)) states[key] = state;
        }
        this.snapshot = states;
        this.fetchedAt = this.clock.now();
      })
      .catch((error: unknown) => this.telemetry.error('provider health read failed', { error: errorFields(error) }))
      .finally(() => {
        this.refreshing = undefined;
        this.attemptedAt = this.clock.now();
      });
    return this.refreshing;
  }

  /**
   * Resolves at once while the view is fresh, or was just read (even in vain: a store that is down is
   * not waited on by every request); otherwise after a fresh read or `readyTimeoutMs`. A read already
   * out for longer than that is not waited on again: one request waited for it.
   */
  ready(): Promise<void> {
    const now = this.clock.now();
    if (now - Math.max(this.fetchedAt, this.attemptedAt) <= this.options.maxStaleMs) return Promise.resolve();
    if (this.refreshing && now - this.refreshSentAt >= this.options.readyTimeoutMs) return Promise.resolve();
    return within(this.refresh(), this.options.readyTimeoutMs, undefined);
  }

  wouldSkip(target: PlannedTarget): boolean {
    const decision = decide(this.snapshot[targetKey(target)], target.circuitBreaker, this.clock.now());
    return decision.kind === 'skip';
  }

  /** Recent fleet figures of a target, from the counters its last health write returned (no I/O). */
  performance(target: PlannedTarget): RecentPerformance {
    const totals = windowTotals(this.lastStats.get(targetKey(target)), this.clock.now(), 60_000 + SLOT_MS);
    const calls = totals.successes + totals.failures;
    return {
      calls,
      p50Ms: histogramPercentile(totals.latency, 50),
      p95Ms: histogramPercentile(totals.latency, 95),
      successRate: calls > 0 ? totals.successes / calls : null,
    };
  }

  state(key: string): TargetState | undefined {
    return this.snapshot[key];
  }

  /**
   * `settlesWithinMs`: how long a probe of this call may take to tell (its first event; the whole answer
   * for a call that is not streamed), which its claim must outlast: default the target's first-event time.
   */
  async admit(target: PlannedTarget, options: { mayProbe?: boolean; settlesWithinMs?: number } = {}): Promise<TargetAdmission> {
    const key = targetKey(target);
    const now = this.clock.now();
    const decision = decide(this.snapshot[key], target.circuitBreaker, now);
    if (decision.kind !== 'claim_probe') return decision;
    const lease = (options.settlesWithinMs ?? target.timeouts.firstByteMs) + this.options.probeGraceMs;
    const skip: TargetAdmission = { kind: 'skip', reason: 'probe_in_flight', retryAt: now + lease };
    if (options.mayProbe === false) return skip;
    // One claim per instance at a time; the store's condition makes it one per fleet.
    if (this.claiming.has(key)) return skip;
    this.claiming.add(key);
    try {
      const current = this.snapshot[key]!;
      const claimed = claimProbe(current, now, this.instanceId, now + lease);
      // A breaker this instance opened on its own (store unreachable) is probed on its own too.
      if (current.v < 0) {
        this.snapshot[key] = { ...claimed, v: -1 };
        return { kind: 'probe' };
      }
      const write = this.store.transition(key, current.v, claimed);
      const won = await within(write, this.options.readyTimeoutMs, false);
      if (!won) {
        // A claim that lands after this request gave up on it is given straight back.
        void write
          .then((late) => {
            if (late) this.track(this.store.transition(key, claimed.v, releasedProbe(claimed, this.clock.now())));
          })
          .catch(() => undefined);
        void this.refresh();
        return skip;
      }
      this.snapshot[key] = claimed;
      this.telemetry.info('circuit half-open: probe claimed', {
        target: key,
        by: this.instanceId,
        until: new Date(now + lease).toISOString(),
      });
      return { kind: 'probe' };
    } finally {
      this.claiming.delete(key);
    }
  }

  report(target: PlannedTarget, outcome: AttemptOutcome, probe: boolean): void {
    const key = targetKey(target);
    const policy = target.circuitBreaker;
    // A probe answered 429 is given back and the target cooled in one write (two from one view: one would lose).
    if (probe) this.track(this.settleProbe(key, policy, outcome));
    if (outcome.kind === 'rate_limited') {
      const coolMs = coolingMs(outcome);
      if (!probe && coolMs !== undefined) this.track(this.coolDown(key, coolMs));
      return;
    }
    if (outcome.kind === 'neutral' || outcome.kind === 'started') return;
    const pending = this.pendingFor(key, policy);
    if (outcome.kind === 'success') {
      pending.delta.successes += 1;
      pending.delta.trailingFailures = 0;
      pending.delta.hadSuccess = true;
      add(pending.delta.firstEvent, histogramBucket(outcome.firstEventMs));
      add(pending.delta.latency, histogramBucket(outcome.latencyMs));
      this.localFailures.set(key, 0);
      this.scheduleFlush(key, false);
      return;
    }
    pending.delta.failures += 1;
    pending.delta.trailingFailures += 1;
    this.localFailures.set(key, (this.localFailures.get(key) ?? 0) + 1);
    this.scheduleFlush(key, true);
  }

  /** A finished request's tokens, for the fleet's tokens-per-minute figure. */
  noteTokens(target: PlannedTarget, tokens: number): void {
    if (tokens <= 0) return;
    this.pendingFor(targetKey(target), target.circuitBreaker).delta.tokens += tokens;
    this.scheduleFlush(targetKey(target), false);
  }

  noteLimits(target: PlannedTarget, limits: ProviderLimits): void {
    const key = targetKey(target);
    this.limits.set(key, limits);
    this.pendingFor(key, target.circuitBreaker).delta.limits = limits;
  }

  nearLimit(target: PlannedTarget): boolean {
    return nearLimit(this.limits.get(targetKey(target)), this.clock.now());
  }

  /** The provider's limits as this instance last saw them. */
  lastLimits(key: string): ProviderLimits | undefined {
    return this.limits.get(key);
  }

  /** Manual failover for the whole fleet; retried on a concurrent change. Returns the state written. */
  async setManual(key: string, override: ManualOverride | 'up', by: string, reason: string): Promise<TargetState> {
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.refresh();
      const current = this.snapshot[key];
      const next = setManual(current && current.v >= 0 ? current : undefined, this.clock.now(), override, by, reason);
      if (await this.store.transition(key, current && current.v >= 0 ? current.v : 0, next)) {
        this.snapshot[key] = next;
        // Back in rotation: the failures in a row that opened it are history, or the next failure would reopen it.
        if (override === 'up')
          await this.store
            .resetFailures(key)
            .catch((error: unknown) => this.telemetry.error('provider health write failed', { target: key, error: errorFields(error) }));
        this.telemetry.info('provider failover set by an admin', {
          target: key,
          state: override === 'up' ? 'up' : override.state,
          by,
          reason,
        });
        this.telemetry.metric('CircuitTransitions', 1, { target: key, to: override === 'up' ? 'closed' : override.state });
        return next;
      }
    }
    throw new Error(`the state of ${key} kept changing; try again`);
  }

  /** Stats of these targets, fleet-wide (read from the store). */
  stats(keys: string[]): Promise<Record<string, TargetStats>> {
    return this.store.stats(keys);
  }

  /**
   * Writes the pending successes that have waited a full flush interval (one target): called when a
   * Lambda invocation ends, since a frozen instance runs no timer.
   */
  flushDue(): Promise<void> {
    const now = this.clock.now();
    const due = [...this.pending.entries()]
      .filter(([, p]) => now - p.since >= this.options.flushMs)
      .sort(([, a], [, b]) => a.since - b.since)[0];
    return due ? this.flush(due[0]) : Promise.resolve();
  }

  /** Writes everything pending now (shutdown, tests). */
  async flushAll(): Promise<void> {
    clearTimeout(this.paced);
    this.paced = undefined;
    await Promise.all([...this.pending.keys()].map((key) => this.flush(key)));
    await Promise.all([...this.flushing.values()]);
  }

  private pendingFor(key: string, policy: CircuitBreakerPolicy): Pending {
    let pending = this.pending.get(key);
    if (!pending) {
      pending = { delta: emptyDelta(), policy, since: this.clock.now() };
      this.pending.set(key, pending);
    }
    pending.policy = policy;
    return pending;
  }

  /** A failure is written at once (`now`); successes wait for the paced writer. */
  private scheduleFlush(key: string, now: boolean): void {
    if (now) {
      this.track(this.flush(key));
      return;
    }
    if (this.paced) return;
    this.paced = setTimeout(() => {
      this.paced = undefined;
      const oldest = [...this.pending.entries()].sort(([, a], [, b]) => a.since - b.since)[0]?.[0];
      if (oldest === undefined) return;
      this.track(this.flush(oldest));
      if (this.pending.size > 0) this.scheduleFlush(oldest, false);
    }, this.options.flushMs);
    this.paced.unref?.();
  }

  /** One write per target at a time; what arrives meanwhile goes in the next. */
  private flush(key: string): Promise<void> {
    const running = this.flushing.get(key);
    if (running) return running.then(() => (this.pending.has(key) ? this.flush(key) : undefined));
    const pending = this.pending.get(key);
    if (!pending) return Promise.resolve();
    this.pending.delete(key);
    const work = this.write(key, pending).finally(() => this.flushing.delete(key));
    this.flushing.set(key, work);
    return work;
  }

  private async write(key: string, { delta, policy }: Pending): Promise<void> {
    const now = this.clock.now();
    let stats: TargetStats;
    try {
      stats = await this.store.record(key, delta, slotOf(now), ringSizeFor(policy.windowMs), now);
    } catch (error) {
      this.telemetry.error('provider health write failed', { target: key, error: errorFields(error) });
      this.openLocally(key, policy, now);
      return;
    }
    this.lastStats.set(key, stats);
    const current = this.snapshot[key];
    if (!policy.enabled || circuitState(current, now) !== 'closed') return;
    const reason = openingReason(stats, policy, now, current?.closedAt ?? 0);
    if (reason) await this.transition(key, current, open(current, policy, now, reason));
  }

  /** The store is unreachable: this instance alone stops calling a target that keeps failing. */
  private openLocally(key: string, policy: CircuitBreakerPolicy, now: number): void {
    const failures = this.localFailures.get(key) ?? 0;
    const current = this.snapshot[key];
    if (!policy.enabled || failures < policy.consecutiveFailures || circuitState(current, now) !== 'closed') return;
    // A negative version marks a state this instance made up; the store's own state replaces it.
    const opened = {
      ...open(current, policy, now, `${failures} consecutive failures (seen by this instance; health store unavailable)`),
      v: -1,
    };
    this.snapshot[key] = opened;
    this.telemetry.error('circuit opened locally', {
      target: key,
      reason: opened.reason,
      openUntil: new Date(opened.openUntil).toISOString(),
    });
  }

  private async settleProbe(key: string, policy: CircuitBreakerPolicy, outcome: AttemptOutcome): Promise<void> {
    const now = this.clock.now();
    const current = this.snapshot[key];
    // Not this instance's probe any more (its claim ran out and another took it over): that one settles
    // it. What the provider said about its rate still holds.
    const coolMs = coolingMs(outcome);
    if (!current || current.probe?.by !== this.instanceId) {
      if (coolMs !== undefined) await this.coolDown(key, coolMs);
      return;
    }
    let next: TargetState;
    if (outcome.kind === 'success' || outcome.kind === 'started') next = close(current, now, 'probe succeeded');
    else if (outcome.kind === 'failure') next = open(current, policy, now, `probe failed (${outcome.errorClass})`);
    // Rate limited: free the probe, and skip the target until the provider said to come back.
    else if (coolMs !== undefined) {
      const { probe: _freed, ...cooled } = cool(current, now, now + coolMs);
      next = cooled;
    }
    // Nothing learned (the client left, or its own mistake): free the probe for another request.
    else next = releasedProbe(current, now);
    const written = await this.transition(key, current, next);
    // A 429 whose settlement lost a race (the view was stale): the cooldown still goes, from the view re-read.
    if (!written && coolMs !== undefined) {
      await this.refresh();
      await this.coolDown(key, coolMs);
    }
    // Closing: the failures in a row that opened the breaker are history (the write is the closer's).
    if (written && next.state === 'closed' && current.v >= 0) {
      await this.store
        .resetFailures(key)
        .catch((error: unknown) => this.telemetry.error('provider health write failed', { target: key, error: errorFields(error) }));
    }
  }

  private async coolDown(key: string, retryAfterMs: number): Promise<void> {
    const now = this.clock.now();
    const current = this.snapshot[key];
    const until = now + retryAfterMs;
    // Already cooling about as long: nothing to write.
    if (current?.coolingUntil !== undefined && current.coolingUntil >= until - 1000) return;
    await this.transition(key, current, cool(current, now, until));
  }

  /** A conditional write of `next` over `current`; the instance that makes it logs it. */
  private async transition(key: string, current: TargetState | undefined, next: TargetState): Promise<boolean> {
    if (current && current.v < 0) {
      // A state this instance made up while the store was unreachable stays local.
      this.snapshot[key] = { ...next, v: -1 };
      return true;
    }
    const expected = current ? current.v : 0;
    const written = { ...next, v: expected + 1 };
    let won: boolean;
    try {
      won = await this.store.transition(key, expected, written);
    } catch (error) {
      this.telemetry.error('provider health write failed', { target: key, error: errorFields(error) });
      return false;
    }
    if (!won) {
      void this.refresh();
      return false;
    }
    this.snapshot[key] = written;
    const from = circuitState(current, this.clock.now());
    const to = circuitState(written, this.clock.now());
    if (from !== to || written.state !== current?.state) {
      this.telemetry.info(`circuit ${written.state === 'open' ? 'opened' : 'closed'}`, {
        target: key,
        from,
        to: written.state,
        reason: written.reason,
        ...(written.state === 'open' ? { openUntil: new Date(written.openUntil).toISOString(), openings: written.openings } : {}),
        by: this.instanceId,
      });
      this.telemetry.metric('CircuitTransitions', 1, { target: key, to: written.state });
    }
    return true;
  }
}

function add(histogram: Record<string, number>, bucket: number): void {
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
}

/** How long a 429 asks the target to be left alone, when it says (any other outcome: undefined). */
function coolingMs(outcome: AttemptOutcome): number | undefined {
  return outcome.kind === 'rate_limited' && outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0
    ? outcome.retryAfterMs
    : undefined;
}

/** Nothing learned from the probe (its request ended before calling, or its client left): another request may probe. */
function releasedProbe(state: TargetState, now: number): TargetState {
  const { probe: _probe, ...rest } = state;
  return { ...rest, v: state.v + 1, changedAt: now };
}
