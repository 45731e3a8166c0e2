/** The rate limiter's port: the store of counters, and the shapes it reads and writes. */

/** A calendar-window counter: admissions in one fixed window (see `windowIndex`), and refusals in it. */
export interface CounterValue {
  /** Window index the count belongs to. */
  window: number;
  count: number;
  violations: number;
}

/**
 * An exact sliding-window log: one slot per admission the window allows, each holding the time (epoch
 * ms) of the last admission that took it, 0 when free. A slot is taken only by an admission at least
 * one window length after its previous one, so no window holds more admissions than there are slots.
 */
export interface LogValue {
  kind: 'log';
  times: number[];
}

/**
 * A sliding window counted in buckets: a ring of the window's last buckets ending at `newest` (slot
 * `b % counts.length` holds bucket `b`), and their total, which every admission's condition checks.
 */
export interface RingValue {
  kind: 'ring';
  /** Index (since the epoch) of the newest bucket; `undefined` when the ring has never been written. */
  newest: number | undefined;
  total: number;
  counts: number[];
}

/**
 * How far the token settlements of one quota day have been applied to the item: the settlement
 * cell's version (records settled) and cumulative token change at that point. A day's slot is
 * `s<day % 2>`, so late settlements of yesterday still find theirs.
 */
export interface SyncValue {
  kind: 'sync';
  /** Quota day window (days since the epoch) the slot holds. */
  window: number;
  version: number;
  delta: number;
}

/** The counters of one item as stored; a missing counter has never counted. */
export type CounterState = Record<string, CounterValue | LogValue | RingValue | SyncValue | undefined>;

/** One counter's part of a conditional admission write. */
export type CounterWrite =
  /** Add to the stored window `window` (the condition pins it), with `count < limit` when limited. */
  | { name: string; kind: 'add'; window: number; add: number; limit: number | undefined }
  /** Start window `window` at `add` (and `violations`), if the counter is still in window `expected` (`null`: absent). */
  | { name: string; kind: 'reset'; window: number; expected: number | null; add: number; violations?: number }
  /** Count a refusal in the stored window `window` (the condition pins it). */
  | { name: string; kind: 'violation'; window: number }
  /** Take log slot `slot` at `at`, if it is free or its time is at most `freeBefore`. */
  | { name: string; kind: 'claim'; slot: number; at: number; freeBefore: number }
  /** Add one to the newest bucket, `bucket` (the condition pins it), if the ring's total is below `limit`. */
  | { name: string; kind: 'bucket-add'; slot: number; bucket: number; limit: number }
  /**
   * Move the ring from its newest bucket `from` (`null`: no ring yet) to `bucket`, started at 1, emptying
   * the `evict`ed slots (each pinned to the count read) and moving the total by `1 - sum(evicted)`, if
   * the total stays within `limit`.
   */
  | {
      name: string;
      kind: 'bucket-roll';
      slot: number;
      bucket: number;
      from: number | null;
      limit: number;
      evict: Array<{ slot: number; count: number }>;
    }
  /**
   * Writes nothing; holds only while the counter still refuses: a calendar counter still in `window`
   * with `count >= limit`, a log whose `slots` all hold times after `freeBefore`, a ring still at
   * `bucket` with its total at `limit` or more. It makes a refusal's violation count a proof of it.
   */
  | { name: string; kind: 'full'; window: number; limit: number }
  | { name: string; kind: 'full-log'; slots: number; freeBefore: number }
  | { name: string; kind: 'full-ring'; bucket: number; limit: number };

/** A change to an admitted request's counters (refund, token settlement, violation), applied only where it still belongs. */
export type CounterAdjustment =
  /** To a calendar counter, if its window is unchanged. */
  | { kind: 'fixed'; name: string; window: number; field: 'count' | 'violations'; add: number }
  /** Frees a log slot, if it still holds the admission at `at`. */
  | { kind: 'release'; name: string; slot: number; at: number }
  /** To a ring slot and the ring's total, if the ring (of `size` slots) still holds `bucket`. */
  | { kind: 'bucket'; name: string; slot: number; bucket: number; size: number; add: number }
  /**
   * Moves sync slot `name` to (`window`, `version`, `delta`), if it still holds `expected` (the version
   * read for `window`; `null`: the slot is empty or holds an older window).
   */
  | { kind: 'sync'; name: string; window: number; version: number; delta: number; expected: number | null };

/** The outcome of one conditional write: the item after it, or (when known) the item that failed the condition. */
export type WriteResult = { ok: true; state: CounterState } | { ok: false; state: CounterState | null | undefined };

/** Storage of counter items: one conditional single-item update per call, never a transaction. */
export interface CounterStore {
  /** Applies every write in one conditional update; `expiresAt` (epoch seconds) is the item's TTL. */
  write(key: string, writes: CounterWrite[], expiresAt: number): Promise<WriteResult>;
  /** Applies every adjustment in one conditional update (each pinned to where it belongs). */
  adjust(key: string, adjustments: CounterAdjustment[]): Promise<WriteResult>;
  /** A strongly consistent read; `null` when the item does not exist. */
  read(key: string): Promise<CounterState | null>;
  readMany(keys: string[]): Promise<Map<string, CounterState>>;
  remove(keys: string[]): Promise<void>;
  /**
   * Removes every counter of an item (windows, logs, rings, their violations) and keeps its settlement
   * sync slots, so settlements already applied are not applied again to the emptied counters.
   */
  clearCounters(key: string): Promise<void>;
}
