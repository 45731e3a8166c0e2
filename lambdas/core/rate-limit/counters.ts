/**
 * Counters that many instances update at once through one conditional write per item.
 *
 * An item holds several counters (for example a user's minute, hour and day windows). A calendar
 * counter is stored as (window index, count, violations); a sliding one as a log or a ring of buckets
 * (`sliding.ts`). Admission is all-or-nothing: one conditional update counts in every counter, and its
 * condition pins what each counter's plan relied on (the window, a free log slot, the ring's newest
 * bucket and total), so a concurrent rollover or a full window makes the whole update fail instead of
 * counting partly. On a failed condition the engine plans again from what is really stored: no locks,
 * no read-before-write in the common case.
 */
import { GatewayError } from '../errors';
import type { Random } from '../ports';
import { logUse, planLog, planRing, ringUse, type LogSpec, type RingSpec } from './sliding';
import { windowIndex, type WindowKind } from './windows';
import type { CounterAdjustment, CounterState, CounterStore, CounterValue, CounterWrite, LogValue, RingValue, SyncValue } from './ports';

export interface FixedSpec {
  algorithm?: 'fixed';
  /** Short attribute prefix, unique within the item (`m`, `h`, `d`, ...): item size is write cost. */
  name: string;
  window: WindowKind;
  /** Admission needs `count < limit` in the current window; `undefined` means no limit. */
  limit: number | undefined;
  /** Added to the counter when admitted. */
  add: number;
}

export type CounterSpec = FixedSpec | LogSpec | RingSpec;

export type AdmissionPlan =
  | {
      kind: 'write';
      writes: CounterWrite[];
      /** What gives the admission back (a refund): one adjustment per counter. */
      undo: CounterAdjustment[];
    }
  | { kind: 'refuse'; blocking: string[] };

export function fixedValue(state: CounterState | null | undefined, name: string): CounterValue | undefined {
  const value = state?.[name];
  return value && !('kind' in value) ? value : undefined;
}

export function logValue(state: CounterState | null | undefined, name: string): LogValue | undefined {
  const value = state?.[name];
  return value && 'kind' in value && value.kind === 'log' ? value : undefined;
}

export function ringValue(state: CounterState | null | undefined, name: string): RingValue | undefined {
  const value = state?.[name];
  return value && 'kind' in value && value.kind === 'ring' ? value : undefined;
}

export function syncValue(state: CounterState | null | undefined, name: string): SyncValue | undefined {
  const value = state?.[name];
  return value && 'kind' in value && value.kind === 'sync' ? value : undefined;
}

/**
 * A cumulative settlement: for one quota day, the settlement cell's version (records settled so far)
 * and their total token change (real use minus reservations), as the batched consumer read them.
 */
export interface Settlement {
  /** The item's sync slot for the day (`s<day % 2>`). */
  slot: string;
  /** The quota day window the settlements belong to. */
  day: number;
  version: number;
  total: number;
  /** The calendar counters the change goes to, each only while it is still in the window the requests counted in. */
  counters: ReadonlyArray<{ name: string; window: number }>;
}

/**
 * Plans an admission at `now`. Without a known state it guesses that every stored window is current
 * (true for all but the first request of a window), which makes the common case one write. `random`
 * spreads concurrent admissions over a log's free slots.
 */
export function planAdmission(specs: readonly CounterSpec[], now: number, state: CounterState | undefined, random: Random): AdmissionPlan {
  const writes: CounterWrite[] = [];
  const undo: CounterAdjustment[] = [];
  const blocking: string[] = [];
  for (const spec of specs) {
    if (spec.algorithm === 'log' || spec.algorithm === 'ring') {
      const carried = state === undefined ? 0 : siblingUse(spec, state, now);
      const plan =
        spec.algorithm === 'log'
          ? planLog(
              spec,
              now,
              state === undefined ? undefined : (logValue(state, spec.name) ?? { kind: 'log', times: [] }),
              random,
              carried,
            )
          : planRing(
              spec,
              now,
              state === undefined ? undefined : (ringValue(state, spec.name) ?? { kind: 'ring', newest: undefined, total: 0, counts: [] }),
              carried,
            );
      if (plan.kind === 'refuse') blocking.push(spec.name);
      else {
        writes.push(plan.write);
        undo.push(plan.undo);
      }
      continue;
    }
    const current = windowIndex(spec.window, now);
    if (state === undefined) {
      writes.push({ name: spec.name, kind: 'add', window: current, add: spec.add, limit: spec.limit });
      undo.push({ kind: 'fixed', name: spec.name, window: current, field: 'count', add: -spec.add });
      continue;
    }
    const stored = fixedValue(state, spec.name);
    // A stored window ahead of ours comes from an instance whose clock runs ahead: count in it rather than undo it.
    if (stored && stored.window >= current) {
      if (spec.limit !== undefined && stored.count >= spec.limit) blocking.push(spec.name);
      else {
        writes.push({ name: spec.name, kind: 'add', window: stored.window, add: spec.add, limit: spec.limit });
        undo.push({ kind: 'fixed', name: spec.name, window: stored.window, field: 'count', add: -spec.add });
      }
    } else if (spec.limit !== undefined && spec.limit <= 0) {
      blocking.push(spec.name);
    } else {
      writes.push({ name: spec.name, kind: 'reset', window: current, expected: stored ? stored.window : null, add: spec.add });
      undo.push({ kind: 'fixed', name: spec.name, window: current, field: 'count', add: -spec.add });
    }
  }
  return blocking.length > 0 ? { kind: 'refuse', blocking } : { kind: 'write', writes, undo };
}

/** Admissions a sliding window's other form (a log for a ring, a ring for a log) still holds in the window ending at `now`. */
export function siblingUse(spec: LogSpec | RingSpec, state: CounterState | null | undefined, now: number): number {
  const sibling = spec.sibling;
  if (!sibling) return 0;
  return sibling.algorithm === 'log'
    ? logUse(sibling, now, logValue(state, sibling.name)).used
    : ringUse(sibling, now, ringValue(state, sibling.name)).used;
}

/** Whether an adjustment still applies to `state` (its window, slot or bucket is still there). */
export function stillApplies(adjustment: CounterAdjustment, state: CounterState | null | undefined): boolean {
  switch (adjustment.kind) {
    case 'fixed':
      return fixedValue(state, adjustment.name)?.window === adjustment.window;
    case 'release':
      return logValue(state, adjustment.name)?.times[adjustment.slot] === adjustment.at;
    case 'bucket': {
      const newest = ringValue(state, adjustment.name)?.newest;
      return newest !== undefined && adjustment.bucket <= newest && adjustment.bucket > newest - adjustment.size;
    }
    case 'sync': {
      const synced = syncValue(state, adjustment.name);
      return adjustment.expected === null ? !synced || synced.window < adjustment.window : synced?.version === adjustment.expected;
    }
  }
}

/** The count of `spec`'s counter in the window containing `now` (a counter from an older window is empty). */
export function currentCount(state: CounterState | null | undefined, name: string, kind: WindowKind, now: number): CounterValue {
  const current = windowIndex(kind, now);
  const stored = fixedValue(state, name);
  return stored && stored.window >= current ? stored : { window: current, count: 0, violations: 0 };
}

export type Admitted = { admitted: true; state: CounterState; windows: Record<string, number>; undo: CounterAdjustment[] };
/** `counted`: the refusal's violations are already counted (in the write that proved the refusal). */
export type Refused = { admitted: false; state: CounterState; blocking: string[]; counted: boolean };

/** Where a refusal's violations go: calendar counters, each in its current window. */
export type ViolationCounters = ReadonlyArray<{ name: string; window: WindowKind }>;

/** The writes that count a refusal in each counter's current window (restarting a window that rolled over). */
export function violationWrites(counters: ViolationCounters, state: CounterState | null | undefined, now: number): CounterWrite[] {
  return counters.map(({ name, window }): CounterWrite => {
    const current = windowIndex(window, now);
    const stored = fixedValue(state, name);
    if (stored && stored.window >= current) return { name, kind: 'violation', window: stored.window };
    return { name, kind: 'reset', window: current, expected: stored?.window ?? null, add: 0, violations: 1 };
  });
}

/** A write-nothing condition that holds while `spec` still refuses, as planned from `state` (see the `full` writes). */
export function stillFull(spec: CounterSpec, state: CounterState, now: number): CounterWrite | undefined {
  if (spec.algorithm === 'log') {
    const times = logValue(state, spec.name)?.times ?? [];
    const freeBefore = now - spec.windowMs;
    // Only the log's own slots prove it full (a refusal carried by the other form or by slots past a
    // lowered limit is proved by a read instead).
    if (times.length < spec.limit || times.slice(0, spec.limit).some((t) => t <= freeBefore)) return undefined;
    return { name: spec.name, kind: 'full-log', slots: spec.limit, freeBefore };
  }
  if (spec.algorithm === 'ring') {
    const ring = ringValue(state, spec.name);
    const bucket = Math.floor(now / spec.bucketMs);
    if (!ring || ring.newest !== bucket || ring.total < spec.limit) return undefined;
    return { name: spec.name, kind: 'full-ring', bucket, limit: spec.limit };
  }
  const stored = fixedValue(state, spec.name);
  const current = windowIndex(spec.window, now);
  if (spec.limit === undefined || !stored || stored.window !== current || stored.count < spec.limit) return undefined;
  return { name: spec.name, kind: 'full', window: current, limit: spec.limit };
}

/**
 * How many times an admission re-plans after losing a race (a rollover by another instance). A lost
 * race on a log slot means another admission took it, so a log adds one attempt per slot.
 */
const MAX_ATTEMPTS = 6;

/** Runs admissions against a `CounterStore`, remembering each item's last known windows to plan the first write right. */
export class CounterEngine {
  private readonly known = new Map<string, CounterState>();

  constructor(
    private readonly store: CounterStore,
    private readonly random: Random,
    private readonly maxKnown = 10_000,
  ) {}

  /**
   * Admits in every counter or in none. With `violations`, a refusal is proved and counted in one
   * write: the violations are added under a condition that the refusing counter is still full, so a
   * client retrying against a full window costs one round trip per request.
   */
  async admit(
    key: string,
    specs: readonly CounterSpec[],
    now: number,
    expiresAt: number,
    violations?: ViolationCounters,
  ): Promise<Admitted | Refused> {
    let state = this.known.get(key);
    let fresh = false;
    const attempts = MAX_ATTEMPTS + specs.reduce((n, s) => n + (s.algorithm === 'log' ? s.limit : 0), 0);
    // A sliding window must see what its other form and a lowered limit's slots still hold, which no
    // condition can sum: an instance reads an item it has never seen before its first write to it.
    if (state === undefined && specs.some((s) => s.algorithm === 'log' || s.algorithm === 'ring')) {
      state = (await this.store.read(key)) ?? {};
      fresh = true;
    }
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      const plan = planAdmission(specs, now, state, this.random);
      if (plan.kind === 'refuse') {
        const proof =
          violations && state
            ? stillFull(
                specs.find((s) => s.name === plan.blocking[0])!,
                state,
                now,
              )
            : undefined;
        if (proof && state) {
          const refused = await this.store.write(key, [proof, ...violationWrites(violations!, state, now)], expiresAt);
          if (refused.ok) {
            this.remember(key, refused.state);
            // Which counters refuse, as the item now stands (the remembered one may have been stale).
            const current = planAdmission(specs, now, refused.state, this.random);
            return {
              admitted: false,
              state: refused.state,
              blocking: current.kind === 'refuse' ? current.blocking : plan.blocking,
              counted: true,
            };
          }
          // The counter changed under the refusal (a refund, a new window): plan again from what is there.
          state = refused.state === undefined ? ((await this.store.read(key)) ?? {}) : (refused.state ?? {});
          fresh = true;
          continue;
        }
        // Only a state just read may refuse: a remembered one can be stale (refunds, resets).
        if (fresh && state) return { admitted: false, state, blocking: plan.blocking, counted: false };
        state = (await this.store.read(key)) ?? {};
        fresh = true;
        continue;
      }
      const result = await this.store.write(key, plan.writes, expiresAt);
      if (result.ok) {
        this.remember(key, result.state);
        const windows = Object.fromEntries(
          plan.writes.flatMap((w) => (w.kind === 'add' || w.kind === 'reset' ? [[w.name, w.window]] : [])),
        );
        return { admitted: true, state: result.state, windows, undo: plan.undo };
      }
      state = result.state === undefined ? ((await this.store.read(key)) ?? {}) : (result.state ?? {});
      fresh = true;
    }
    throw new CounterContentionError(key, attempts);
  }

  /**
   * Counts a refusal in the current window of each calendar counter, starting the window when it has
   * rolled over (a sliding limit can refuse before anything was admitted in this calendar window).
   * Best effort: refusals are statistics, so a counter that keeps changing is left uncounted.
   */
  async countRefusal(
    key: string,
    counters: ReadonlyArray<{ name: string; window: WindowKind }>,
    now: number,
    expiresAt: number,
    /** The item as last read, when the caller has it. */
    read?: CounterState,
  ): Promise<void> {
    let state: CounterState | null | undefined = read ?? this.known.get(key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const writes = violationWrites(counters, state, now);
      const result = await this.store.write(key, writes, expiresAt);
      if (result.ok) {
        this.remember(key, result.state);
        return;
      }
      state = result.state === undefined ? await this.store.read(key) : result.state;
    }
  }

  /** Applies adjustments whose windows are unchanged; ones whose window rolled over are dropped (that window is gone). */
  async adjust(key: string, adjustments: readonly CounterAdjustment[]): Promise<void> {
    let pending = adjustments.filter((a) => a.kind === 'release' || a.kind === 'sync' || a.add !== 0);
    for (let attempt = 0; attempt < MAX_ATTEMPTS && pending.length > 0; attempt += 1) {
      const result = await this.store.adjust(key, pending);
      if (result.ok) {
        this.remember(key, result.state);
        return;
      }
      const state = result.state === undefined ? await this.store.read(key) : result.state;
      pending = pending.filter((a) => stillApplies(a, state));
    }
  }

  /**
   * Brings the item's counters up to a cumulative settlement: adds what changed since the version its
   * sync slot holds, and moves the slot, in one conditional update. Versions only grow, so a settlement
   * read before one already applied (a re-delivered batch, another shard's consumer that got there
   * first) adds nothing, and concurrent ones apply each change once. A counter whose window has rolled
   * over gets nothing (that window is gone); with none left, nothing is written.
   */
  async settle(key: string, settlement: Settlement): Promise<void> {
    // What this instance last saw of the item (it may lag: other instances admit too), until a failed
    // condition returns or reads the item as it is.
    let state: CounterState | null | undefined = this.known.get(key);
    let fresh = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      // Slot windows and versions only grow, so even a lagging view may end the work here.
      const synced = syncValue(state, settlement.slot);
      if (synced && synced.window > settlement.day) return;
      const base = synced?.window === settlement.day ? synced : undefined;
      if (base && base.version >= settlement.version) return;
      const change = settlement.total - (base?.delta ?? 0);
      // Counters still in the windows the settled requests counted in. A lagging view rules a counter
      // out only when it is already past that window; otherwise the write's condition decides.
      const counters = settlement.counters.filter((c) => {
        const window = fixedValue(state, c.name)?.window;
        return fresh ? window === c.window : window === undefined || window <= c.window;
      });
      if (state === null || counters.length === 0) return;
      // The slot moves with every new version, a change of 0 included (an older version read later
      // must find it there); the counters' window conditions keep a missing item from being created.
      const adjustments: CounterAdjustment[] = [
        ...counters.map((c) => ({ kind: 'fixed' as const, name: c.name, window: c.window, field: 'count' as const, add: change })),
        {
          kind: 'sync',
          name: settlement.slot,
          window: settlement.day,
          version: settlement.version,
          delta: settlement.total,
          expected: base?.version ?? null,
        },
      ];
      const result = await this.store.adjust(key, adjustments);
      if (result.ok) {
        this.remember(key, result.state);
        return;
      }
      state = result.state === undefined ? await this.store.read(key) : result.state;
      fresh = true;
    }
    throw new CounterContentionError(key, MAX_ATTEMPTS);
  }

  readMany(keys: string[]): Promise<Map<string, CounterState>> {
    return this.store.readMany(keys);
  }

  async remove(keys: string[]): Promise<void> {
    for (const key of keys) this.known.delete(key);
    await this.store.remove(keys);
  }

  /** Empties every counter of an item but keeps its settlement sync slots (see `CounterStore.clearCounters`). */
  async clearCounters(key: string): Promise<void> {
    this.known.delete(key);
    await this.store.clearCounters(key);
  }

  private remember(key: string, state: CounterState): void {
    this.known.delete(key);
    if (this.known.size >= this.maxKnown) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.set(key, state);
  }
}

export class CounterContentionError extends GatewayError {
  constructor(key: string, attempts: number) {
    super(`counter ${key} kept changing under the admission; gave up after ${attempts} attempts`);
  }
}
