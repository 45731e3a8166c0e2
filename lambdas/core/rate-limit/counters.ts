/**
 * Windowed counters that many instances update at once through one conditional write per item.
 *
 * An item holds several counters (for example a user's minute, hour and day windows), each stored as
 * (window index, count, violations). Admission is all-or-nothing: one conditional update adds to every
 * counter whose window is current and has room, restarts every counter whose window has rolled over,
 * and its condition pins the window of each counter, so a concurrent rollover or a full window makes
 * the whole update fail instead of counting partly. On a failed condition the engine reads the item
 * and plans again from what is really stored: no locks, no read-before-write in the common case.
 */
import { GatewayError } from '../errors';
import { windowIndex, type WindowKind } from './windows';
import type { CounterAdjustment, CounterState, CounterStore, CounterValue, CounterWrite } from './ports';

export interface CounterSpec {
  /** Short attribute prefix, unique within the item (`m`, `h`, `d`, ...): item size is write cost. */
  name: string;
  window: WindowKind;
  /** Admission needs `count < limit` in the current window; `undefined` means no limit. */
  limit: number | undefined;
  /** Added to the counter when admitted. */
  add: number;
}

export type AdmissionPlan = { kind: 'write'; writes: CounterWrite[] } | { kind: 'refuse'; blocking: string[] };

/**
 * Plans an admission at `now`. Without a known state it guesses that every stored window is current
 * (true for all but the first request of a window), which makes the common case one write.
 */
export function planAdmission(specs: readonly CounterSpec[], now: number, state: CounterState | undefined): AdmissionPlan {
  const writes: CounterWrite[] = [];
  const blocking: string[] = [];
  for (const spec of specs) {
    const current = windowIndex(spec.window, now);
    if (state === undefined) {
      writes.push({ name: spec.name, kind: 'add', window: current, add: spec.add, limit: spec.limit });
      continue;
    }
    const stored = state[spec.name];
    // A stored window ahead of ours comes from an instance whose clock runs ahead: count in it rather than undo it.
    if (stored && stored.window >= current) {
      if (spec.limit !== undefined && stored.count >= spec.limit) blocking.push(spec.name);
      else writes.push({ name: spec.name, kind: 'add', window: stored.window, add: spec.add, limit: spec.limit });
    } else if (spec.limit !== undefined && spec.limit <= 0) {
      blocking.push(spec.name);
    } else {
      writes.push({ name: spec.name, kind: 'reset', window: current, expected: stored ? stored.window : null, add: spec.add });
    }
  }
  return blocking.length > 0 ? { kind: 'refuse', blocking } : { kind: 'write', writes };
}

/** The count of `spec`'s counter in the window containing `now` (a counter from an older window is empty). */
export function currentCount(state: CounterState | null | undefined, name: string, kind: WindowKind, now: number): CounterValue {
  const current = windowIndex(kind, now);
  const stored = state?.[name];
  return stored && stored.window >= current ? stored : { window: current, count: 0, violations: 0 };
}

export type Admitted = { admitted: true; state: CounterState; windows: Record<string, number> };
export type Refused = { admitted: false; state: CounterState; blocking: string[] };

/** How many times an admission re-plans after losing a race (a rollover by another instance). */
const MAX_ATTEMPTS = 6;

/** Runs admissions against a `CounterStore`, remembering each item's last known windows to plan the first write right. */
export class CounterEngine {
  private readonly known = new Map<string, CounterState>();

  constructor(
    private readonly store: CounterStore,
    private readonly maxKnown = 10_000,
  ) {}

  async admit(key: string, specs: readonly CounterSpec[], now: number, expiresAt: number): Promise<Admitted | Refused> {
    let state = this.known.get(key);
    let fresh = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const plan = planAdmission(specs, now, state);
      if (plan.kind === 'refuse') {
        // Only a state just read may refuse: a remembered one can be stale (refunds, resets).
        if (fresh && state) return { admitted: false, state, blocking: plan.blocking };
        state = (await this.store.read(key)) ?? {};
        fresh = true;
        continue;
      }
      const result = await this.store.write(key, plan.writes, expiresAt);
      if (result.ok) {
        this.remember(key, result.state);
        const windows = Object.fromEntries(plan.writes.map((w) => [w.name, w.window]));
        return { admitted: true, state: result.state, windows };
      }
      state = result.state === undefined ? ((await this.store.read(key)) ?? {}) : (result.state ?? {});
      fresh = true;
    }
    throw new CounterContentionError(key);
  }

  /** Applies adjustments whose windows are unchanged; ones whose window rolled over are dropped (that window is gone). */
  async adjust(key: string, adjustments: readonly CounterAdjustment[]): Promise<void> {
    let pending = adjustments.filter((a) => a.add !== 0);
    for (let attempt = 0; attempt < MAX_ATTEMPTS && pending.length > 0; attempt += 1) {
      const result = await this.store.adjust(key, pending);
      if (result.ok) {
        this.remember(key, result.state);
        return;
      }
      const state = result.state === undefined ? await this.store.read(key) : result.state;
      pending = pending.filter((a) => state?.[a.name]?.window === a.window);
    }
  }

  readMany(keys: string[]): Promise<Map<string, CounterState>> {
    return this.store.readMany(keys);
  }

  async remove(keys: string[]): Promise<void> {
    for (const key of keys) this.known.delete(key);
    await this.store.remove(keys);
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
  constructor(key: string) {
    super(`counter ${key} kept changing under the admission; gave up after ${MAX_ATTEMPTS} attempts`);
  }
}
