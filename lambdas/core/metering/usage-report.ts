/** Reads over the usage aggregates: grouped usage for a date range, and today's and the month's costs with a forecast. */
import type { AggregateCounts, AggregateRow } from './ports';
import { dayStart, shiftDay, utcDay } from '../utc-day';

export const GROUP_BY = ['provider', 'model', 'user', 'task', 'hour'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface UsageGroup extends AggregateCounts {
  key: string;
  costUsd: number;
  avgLatencyMs: number;
}

/** Every aggregate counter at 0 (the start of a sum, and a base for rows built by hand). */
export const ZERO_COUNTS: AggregateCounts = {
  requests: 0,
  errors: 0,
  fallbacks: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedTokens: 0,
  costMicros: 0,
  unpriced: 0,
  estimated: 0,
  latencyMs: 0,
  cacheHits: 0,
  savedMicros: 0,
  routingSavedMicros: 0,
};

export function sumCounts(rows: AggregateCounts[]): AggregateCounts {
  const total = { ...ZERO_COUNTS };
  for (const row of rows) for (const field of Object.keys(ZERO_COUNTS) as Array<keyof AggregateCounts>) total[field] += row[field];
  return total;
}

function withDerived(key: string, counts: AggregateCounts): UsageGroup {
  return {
    key,
    ...counts,
    costUsd: counts.costMicros / 1e6,
    avgLatencyMs: counts.requests > 0 ? Math.round(counts.latencyMs / counts.requests) : 0,
  };
}

/** Groups aggregate rows; `user` reads the per-user cells, everything else the detail cells. */
export function groupUsage(rows: AggregateRow[], groupBy: GroupBy): { groups: UsageGroup[]; totals: UsageGroup } {
  const groups = new Map<string, AggregateCounts[]>();
  for (const row of rows) {
    let key: string | undefined;
    if (groupBy === 'user') key = row.kind === 'user' ? row.userId : undefined;
    else if (row.kind === 'detail') {
      key = { provider: row.provider, model: row.model, task: row.taskType, hour: `${row.day}T${row.hour}:00Z` }[groupBy];
    }
    if (key === undefined) continue;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const list = [...groups.entries()].map(([key, counts]) => withDerived(key, sumCounts(counts)));
  list.sort((a, b) => (groupBy === 'hour' ? a.key.localeCompare(b.key) : b.costMicros - a.costMicros || a.key.localeCompare(b.key)));
  return { groups: list, totals: withDerived('total', sumCounts(list)) };
}

export interface CostOverview {
  today: { day: string; costMicros: number; costUsd: number };
  monthToDate: {
    month: string;
    costMicros: number;
    costUsd: number;
    byProvider: Array<{ provider: string; costMicros: number; costUsd: number }>;
  };
  forecast: { monthEndMicros: number; monthEndUsd: number; dailyRateUsd: number; basis: string };
}

/**
 * Today, month to date per provider, and a month-end forecast: month to date plus the average daily
 * cost of the last 7 complete days of the month (fewer early in the month; today's pace when those
 * days have no spend) times the days left.
 */
export function costOverview(monthRows: AggregateRow[], now: number): CostOverview {
  const today = utcDay(now);
  const details = monthRows.filter((r) => r.kind === 'detail');
  const costOf = (rows: AggregateRow[]) => rows.reduce((sum, r) => sum + r.costMicros, 0);
  const todayMicros = costOf(details.filter((r) => r.day === today));
  const mtd = costOf(details);
  const byProvider = new Map<string, number>();
  // Requests that reached no provider cost nothing and belong to none.
  for (const r of details) if (r.provider !== 'none') byProvider.set(r.provider, (byProvider.get(r.provider) ?? 0) + r.costMicros);

  const date = new Date(now);
  const dayOfMonth = date.getUTCDate();
  const daysInMonth = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  const elapsedToday = (now - dayStart(today)) / 86_400_000;
  const completeDays = Math.min(7, dayOfMonth - 1);
  let dailyRate: number;
  let basis: string;
  const from = shiftDay(today, -completeDays);
  const trailing = completeDays > 0 ? costOf(details.filter((r) => r.day >= from && r.day < today)) : 0;
  // No spend in the complete days (the 1st of the month, or a new deployment): today's pace is all there is.
  if (trailing > 0) {
    dailyRate = trailing / completeDays;
    basis = `average of the last ${completeDays} complete day${completeDays === 1 ? '' : 's'}`;
  } else {
    dailyRate = elapsedToday > 0 ? todayMicros / elapsedToday : 0;
    basis = "today's pace so far";
  }
  // The rest of today at the daily rate, plus every day left in the month.
  const remainingDays = daysInMonth - dayOfMonth + (1 - elapsedToday);
  const forecast = mtd + dailyRate * remainingDays;
  const usd = (micros: number) => Math.round(micros) / 1e6;
  return {
    today: { day: today, costMicros: todayMicros, costUsd: usd(todayMicros) },
    monthToDate: {
      month: today.slice(0, 7),
      costMicros: mtd,
      costUsd: usd(mtd),
      byProvider: [...byProvider.entries()]
        .map(([provider, micros]) => ({ provider, costMicros: micros, costUsd: usd(micros) }))
        .sort((a, b) => b.costMicros - a.costMicros),
    },
    forecast: { monthEndMicros: Math.round(forecast), monthEndUsd: usd(forecast), dailyRateUsd: usd(dailyRate), basis },
  };
}
