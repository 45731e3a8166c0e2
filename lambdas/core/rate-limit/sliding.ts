/**
 * Sliding windows: at most `limit` admissions in any window of `windowMs`, not per calendar window.
 *
 * - An exact log for small limits: `limit` slots, each holding the time of the last admission that took
 *   it. An admission takes a slot whose time is at least one window old; the write's condition checks
 *   exactly that, so concurrent admissions on different slots never conflict, and a slot's successive
 *   times are a window apart: no window of `windowMs` ever holds two admissions of one slot.
 * - Buckets for large limits: the window is cut into `windowMs / bucketMs` buckets; a ring keeps the
 *   last buckets and their total, and an admission needs `total < limit`. The oldest bucket, partly out
 *   of the window, still counts in full: conservative (it may refuse up to one bucket early), never
 *   over. Adds to the newest bucket commute, so concurrent admissions conflict only when the ring
 *   moves to a new bucket (once per bucket per key).
 *
 * Both are pure plans for `CounterWrite`s; `counters.ts` runs them.
 */
import type { Random } from '../ports';
import type { CounterAdjustment, CounterWrite, LogValue, RingValue } from './ports';

export interface LogSpec {
  algorithm: 'log';
  name: string;
  windowMs: number;
  limit: number;
  /** The window's other form, whose admissions still count after the limit moved between a log and a ring. */
  sibling?: RingSpec;
}

export interface RingSpec {
  algorithm: 'ring';
  name: string;
  windowMs: number;
  bucketMs: number;
  limit: number;
  sibling?: LogSpec;
}

export type SlidingPlan = { kind: 'write'; write: CounterWrite; undo: CounterAdjustment } | { kind: 'refuse' };

/** The slots an admission may take: one per admission the window allows (time 0: free). */
function claimable(spec: LogSpec, value: LogValue | undefined): number[] {
  return Array.from({ length: spec.limit }, (_, slot) => value?.times[slot] ?? 0);
}

/**
 * Takes a random free slot (randomness spreads concurrent admissions over different slots). Without a
 * known state every slot is assumed free: the condition still makes the write exact. Admissions the
 * slots cannot see still count (`carried`: the window's other form, after its limit moved between a log
 * and a ring), and so do slots past a lowered limit, until they leave the window.
 */
export function planLog(spec: LogSpec, now: number, value: LogValue | undefined, random: Random, carried = 0): SlidingPlan {
  const freeBefore = now - spec.windowMs;
  const free = claimable(spec, value).flatMap((at, slot) => (at <= freeBefore ? [slot] : []));
  const beyond = (value?.times ?? []).slice(spec.limit).filter((at) => at > freeBefore).length;
  if (free.length <= beyond + carried) return { kind: 'refuse' };
  const slot = free[Math.min(free.length - 1, Math.floor(random.next() * free.length))]!;
  return {
    kind: 'write',
    write: { name: spec.name, kind: 'claim', slot, at: now, freeBefore },
    undo: { kind: 'release', name: spec.name, slot, at: now },
  };
}

/** Admissions in the window ending at `now` (every stored slot), and when the oldest of them leaves it (`undefined`: none). */
export function logUse(spec: LogSpec, now: number, value: LogValue | undefined): { used: number; freesAt: number | undefined } {
  const inWindow = (value?.times ?? []).filter((at) => at > now - spec.windowMs).sort((a, b) => a - b);
  return { used: inWindow.length, freesAt: inWindow.length > 0 ? inWindow[0]! + spec.windowMs : undefined };
}

export function ringSize(spec: RingSpec): number {
  return Math.ceil(spec.windowMs / spec.bucketMs) + 1;
}

/**
 * The bucket an admission at `now` counts in: its own, or the ring's newest when that is ahead (an
 * instance whose clock is behind counts at the newest stored time, which keeps the ring ordered).
 */
function ringBucket(spec: RingSpec, now: number, value: RingValue | undefined): number {
  return Math.max(Math.floor(now / spec.bucketMs), value?.newest ?? -1);
}

/** The count of `bucket` in the ring (0 when it is not or no longer held). */
function ringCount(value: RingValue | undefined, bucket: number, size: number): number {
  if (value?.newest === undefined || bucket > value.newest || bucket <= value.newest - size) return 0;
  return value.counts[bucket % size] ?? 0;
}

/**
 * Adds to the newest bucket when it is the current one (the guess when nothing is known), else moves
 * the ring to the current bucket, emptying every bucket that has left the window.
 */
export function planRing(spec: RingSpec, now: number, value: RingValue | undefined, carried = 0): SlidingPlan {
  const size = ringSize(spec);
  const limit = spec.limit - carried;
  const bucket = ringBucket(spec, now, value);
  const slot = bucket % size;
  const undo: CounterAdjustment = { kind: 'bucket', name: spec.name, slot, bucket, size, add: -1 };
  if (value === undefined || value.newest === bucket) {
    if (limit <= 0 || (value !== undefined && value.total >= limit)) return { kind: 'refuse' };
    return { kind: 'write', write: { name: spec.name, kind: 'bucket-add', slot, bucket, limit }, undo };
  }
  // Buckets from the ring's oldest up to the one the new bucket pushes out leave the window.
  const from = value.newest ?? null;
  const evict: Array<{ slot: number; count: number }> = [];
  const firstKept = bucket - size + 1;
  if (from !== null) {
    for (let b = from - size + 1; b <= Math.min(from, firstKept - 1); b += 1)
      evict.push({ slot: b % size, count: ringCount(value, b, size) });
  }
  const remaining = value.total - evict.reduce((sum, e) => sum + e.count, 0);
  if (remaining + 1 > limit) return { kind: 'refuse' };
  return { kind: 'write', write: { name: spec.name, kind: 'bucket-roll', slot, bucket, from, limit, evict }, undo };
}

/**
 * Admissions counted in the window ending at `now` (the conservative count the next admission is
 * checked against), when that count next falls (`undefined`: it is 0), and when it is next below
 * `limit` (the earliest an admission can succeed; `now` when there is room).
 */
export function ringUse(
  spec: RingSpec,
  now: number,
  value: RingValue | undefined,
): { used: number; freesAt: number | undefined; roomAt: number } {
  const size = ringSize(spec);
  const bucket = ringBucket(spec, now, value);
  const usedFrom = (first: number): number => {
    let sum = 0;
    for (let b = first; b <= bucket; b += 1) sum += ringCount(value, b, size);
    return sum;
  };
  const used = usedFrom(bucket - size + 1);
  let freesAt: number | undefined;
  let roomAt = used < spec.limit ? now : undefined;
  for (let next = bucket + 1; next <= bucket + size && (freesAt === undefined || roomAt === undefined); next += 1) {
    const left = usedFrom(next - size + 1);
    if (freesAt === undefined && left < used) freesAt = next * spec.bucketMs;
    if (roomAt === undefined && left < spec.limit) roomAt = next * spec.bucketMs;
  }
  return { used, freesAt, roomAt: Math.max(now, roomAt ?? now) };
}
