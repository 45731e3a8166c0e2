/** The rate limiter's port: the store of windowed counters, and the shapes it reads and writes. */

export interface CounterValue {
  /** Window index the count belongs to (see `windowIndex`). */
  window: number;
  count: number;
  violations: number;
}

/** The counters of one item as stored; a missing counter has never counted. */
export type CounterState = Record<string, CounterValue | undefined>;

/** One counter's part of a conditional admission write. */
export type CounterWrite =
  /** Add to the stored window `window` (the condition pins it), with `count < limit` when limited. */
  | { name: string; kind: 'add'; window: number; add: number; limit: number | undefined }
  /** Start window `window` at `add`, if the counter is still in window `expected` (`null`: absent). */
  | { name: string; kind: 'reset'; window: number; expected: number | null; add: number };

/** A change to an admitted request's counters (refund, token settlement, violation), applied only if the window is unchanged. */
export interface CounterAdjustment {
  name: string;
  window: number;
  field: 'count' | 'violations';
  add: number;
}

/** The outcome of one conditional write: the item after it, or (when known) the item that failed the condition. */
export type WriteResult = { ok: true; state: CounterState } | { ok: false; state: CounterState | null | undefined };

/** Storage of counter items: one conditional single-item update per call, never a transaction. */
export interface CounterStore {
  /** Applies every write in one conditional update; `expiresAt` (epoch seconds) is the item's TTL. */
  write(key: string, writes: CounterWrite[], expiresAt: number): Promise<WriteResult>;
  /** Applies every adjustment in one conditional update (each pinned to its window). */
  adjust(key: string, adjustments: CounterAdjustment[]): Promise<WriteResult>;
  /** A strongly consistent read; `null` when the item does not exist. */
  read(key: string): Promise<CounterState | null>;
  readMany(keys: string[]): Promise<Map<string, CounterState>>;
  remove(keys: string[]): Promise<void>;
}
