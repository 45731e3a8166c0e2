/**
 * Per-target performance over hours and days, from the usage aggregates: calls and failed calls of
 * every target a request tried, latency and time-to-first-token histograms of the answers it gave,
 * and fallbacks to it (answers it gave after another target failed) and from it (requests it failed
 * that another target then answered). What `GET /api/ai-providers/performance` reports.
 */
import { histogramBucket, histogramPercentile, mergeHistograms } from '../health/stats';
import type { AggregateRow, CellPerformance } from './ports';
import type { UsageRecord } from './usage-record';

/** What one record adds to the cells of the targets it tried (the answering target first, when there is one). */
export function cellPerformance(record: UsageRecord): Array<{ provider: string; model: string; performance: CellPerformance }> {
  const answered = record.provider !== null && record.model !== null && record.status < 400;
  return (record.tried ?? []).map((tried) => {
    const isAnswer = answered && tried.provider === record.provider && tried.model === record.model;
    return {
      provider: tried.provider,
      model: tried.model,
      performance: {
        calls: tried.calls,
        callFailures: tried.failures,
        fallbacksFrom: answered && !isAnswer && tried.failures > 0 ? 1 : 0,
        latency: isAnswer ? { [histogramBucket(record.latencyMs)]: 1 } : {},
        firstEvent: isAnswer && record.timeToFirstTokenMs !== null ? { [histogramBucket(record.timeToFirstTokenMs)]: 1 } : {},
      },
    };
  });
}

export const PERFORMANCE_WINDOWS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
export type PerformanceWindow = keyof typeof PERFORMANCE_WINDOWS;

const percentiles = (h: Record<string, number>) => ({
  p50: histogramPercentile(h, 50),
  p95: histogramPercentile(h, 95),
  p99: histogramPercentile(h, 99),
});

export interface TargetPerformance {
  provider: string;
  model: string;
  /** Requests this target answered. */
  requests: number;
  /** Calls made to it, and the share that succeeded. */
  calls: number;
  successRate: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  timeToFirstTokenMs: { p50: number | null; p95: number | null; p99: number | null };
  /** Answers it gave after another target failed. */
  fallbacksTo: number;
  /** Requests it failed that another target then answered. */
  fallbacksFrom: number;
}

/**
 * Performance per target over the detail cells of every UTC hour that overlaps the window ending at
 * `now` (hour-granular: 1h reads the current and the previous hour). Percentiles come from log-scale
 * histograms (buckets 25% wide): within about 12% of the exact value.
 */
export function targetPerformance(rows: AggregateRow[], window: PerformanceWindow, now: number): TargetPerformance[] {
  const from = now - PERFORMANCE_WINDOWS[window];
  const byTarget = new Map<
    string,
    {
      provider: string;
      model: string;
      requests: number;
      calls: number;
      failures: number;
      to: number;
      from: number;
      latency: Record<string, number>;
      first: Record<string, number>;
    }
  >();
  for (const row of rows) {
    if (row.kind !== 'detail' || row.provider === 'none') continue;
    const hourStart = Date.parse(`${row.day}T${row.hour}:00:00Z`);
    if (hourStart + 3_600_000 <= from || hourStart > now) continue;
    const key = `${row.provider}/${row.model}`;
    const entry = byTarget.get(key) ?? {
      provider: row.provider,
      model: row.model,
      requests: 0,
      calls: 0,
      failures: 0,
      to: 0,
      from: 0,
      latency: {},
      first: {},
    };
    byTarget.set(key, entry);
    entry.requests += row.requests;
    entry.to += row.fallbacks;
    if (row.performance) {
      entry.calls += row.performance.calls;
      entry.failures += row.performance.callFailures;
      entry.from += row.performance.fallbacksFrom;
      mergeHistograms(entry.latency, row.performance.latency);
      mergeHistograms(entry.first, row.performance.firstEvent);
    }
  }
  return [...byTarget.values()]
    .sort((a, b) => b.calls - a.calls || a.provider.localeCompare(b.provider))
    .map((e) => ({
      provider: e.provider,
      model: e.model,
      requests: e.requests,
      calls: e.calls,
      successRate: e.calls > 0 ? Number(((e.calls - e.failures) / e.calls).toFixed(4)) : null,
      latencyMs: percentiles(e.latency),
      timeToFirstTokenMs: percentiles(e.first),
      fallbacksTo: e.to,
      fallbacksFrom: e.from,
    }));
}
