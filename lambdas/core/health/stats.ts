/** Counting in time slots and log-scale histograms: the arithmetic behind breaker decisions and health figures. */
import type { StatsSlot, TargetStats } from './ports';

/** Every counter slot spans 5 s. */
export const SLOT_MS = 5000;

export const slotOf = (ms: number) => Math.floor(ms / SLOT_MS);

/** Slots kept per target: enough for the breaker window and for one minute of requests and tokens. */
export function ringSizeFor(windowMs: number): number {
  return Math.ceil(Math.max(windowMs, 60_000) / SLOT_MS) + 1;
}

/** Histogram buckets grow by 25%: bucket `b` holds values up to `1.25^(b+1)` ms (12% error at most on a percentile). */
const GROWTH = 1.25;

export function histogramBucket(ms: number): number {
  return ms <= 1 ? 0 : Math.floor(Math.log(ms) / Math.log(GROWTH));
}

/** The value a bucket stands for: its geometric middle. */
export function bucketValue(bucket: number): number {
  return Math.round(GROWTH ** (bucket + 0.5));
}

/** The `p` percentile (0..100) of a histogram, or null when it is empty. */
export function histogramPercentile(histogram: Record<string, number>, p: number): number | null {
  const entries = Object.entries(histogram)
    .map(([bucket, count]) => [Number(bucket), count] as const)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => a - b);
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [bucket, count] of entries) {
    seen += count;
    if (seen >= rank) return bucketValue(bucket);
  }
  return bucketValue(entries.at(-1)![0]);
}

export function mergeHistograms(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [bucket, count] of Object.entries(from)) into[bucket] = (into[bucket] ?? 0) + count;
  return into;
}

export interface WindowTotals {
  successes: number;
  failures: number;
  tokens: number;
  latency: Record<string, number>;
  firstEvent: Record<string, number>;
}

/** Totals of the slots within `windowMs` of `now`; with `since`, only of the slots that start at or after it. */
export function windowTotals(
  stats: TargetStats | undefined,
  now: number,
  windowMs: number,
  since = Number.NEGATIVE_INFINITY,
): WindowTotals {
  const current = slotOf(now);
  const oldest = Math.max(current - Math.max(1, Math.ceil(windowMs / SLOT_MS)) + 1, Math.ceil(since / SLOT_MS));
  const totals: WindowTotals = { successes: 0, failures: 0, tokens: 0, latency: {}, firstEvent: {} };
  for (const slot of stats?.slots ?? []) {
    if (slot.slot < oldest || slot.slot > current) continue;
    totals.successes += slot.successes;
    totals.failures += slot.failures;
    totals.tokens += slot.tokens;
    mergeHistograms(totals.latency, slot.latency);
    mergeHistograms(totals.firstEvent, slot.firstEvent);
  }
  return totals;
}

export const emptySlot = (slot: number): StatsSlot => ({ slot, successes: 0, failures: 0, tokens: 0, latency: {}, firstEvent: {} });
