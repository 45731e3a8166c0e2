/**
 * The daily cost report for one UTC day, computed from that day's usage records (exact latency
 * percentiles, not histogram estimates) and compared with the day before. Deterministic: the same
 * records give the same report, so a re-run stores the same thing and alerts nothing new.
 */
import { isFailure } from '../request-summary';
import type { UsageRecord } from './usage-record';
import { shiftDay, utcDay } from '../utc-day';
import type { AlertMarkers, AlertPublisher, DailyReport, ReportSources, ReportStore, Totals } from './ports';

const isError = (r: UsageRecord) => isFailure(r.status, r.errorClass);

function totalsOf(records: UsageRecord[]): Totals {
  const sum = (f: (r: UsageRecord) => number) => records.reduce((a, r) => a + f(r), 0);
  const requests = records.length;
  const errors = records.filter(isError).length;
  const costMicros = sum((r) => r.costMicros ?? 0);
  return {
    requests,
    errors,
    errorRate: requests > 0 ? Number((errors / requests).toFixed(4)) : 0,
    inputTokens: sum((r) => r.inputTokens),
    outputTokens: sum((r) => r.outputTokens),
    cachedTokens: sum((r) => r.cachedTokens),
    costMicros,
    costUsd: costMicros / 1e6,
    unpriced: records.filter((r) => r.costMicros === null).length,
    estimated: records.filter((r) => r.tokensSource === 'estimated').length,
    fallbacks: records.filter((r) => r.fallback).length,
    cacheHits: records.filter((r) => r.cache === 'hit').length,
    savedUsd: sum((r) => r.savedCostMicros ?? 0) / 1e6,
  };
}

/** Nearest-rank percentile of the sorted values. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function change(now: number, before: number): number | null {
  return before === 0 ? null : Number((((now - before) / before) * 100).toFixed(1));
}

function groupBy<K extends string>(records: UsageRecord[], key: (r: UsageRecord) => K | null): Map<K, UsageRecord[]> {
  const groups = new Map<K, UsageRecord[]>();
  for (const r of records) {
    const k = key(r);
    if (k !== null) groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return groups;
}

export function buildDailyReport(day: string, records: UsageRecord[], previousDay: string, previous: UsageRecord[]): DailyReport {
  const byCostThenName =
    <T extends { costMicros: number }>(key: (t: T) => string) =>
    (a: T, b: T) =>
      b.costMicros - a.costMicros || key(a).localeCompare(key(b));
  const providers = [...groupBy(records, (r) => r.provider)].map(([provider, rs]) => {
    const latencies = rs.map((r) => r.latencyMs).sort((a, b) => a - b);
    return { provider, ...totalsOf(rs), latencyP50Ms: percentile(latencies, 50), latencyP99Ms: percentile(latencies, 99) };
  });
  const taskTypes = [...groupBy(records, (r) => r.taskType)].map(([taskType, rs]) => ({ taskType, ...totalsOf(rs) }));
  const topUsers = [...groupBy(records, (r) => r.userId)]
    .map(([userId, rs]) => {
      const costMicros = rs.reduce((a, r) => a + (r.costMicros ?? 0), 0);
      return { userId, requests: rs.length, costMicros, costUsd: costMicros / 1e6 };
    })
    .sort(byCostThenName((u) => u.userId))
    .slice(0, 10);
  const totals = totalsOf(records);
  const before = totalsOf(previous);
  return {
    day,
    totals: { ...totals, rateLimited: records.filter((r) => r.status === 429).length },
    providers: providers.sort(byCostThenName((p) => p.provider)),
    taskTypes: taskTypes.sort(byCostThenName((t) => t.taskType)),
    topUsers,
    previousDay: {
      day: previousDay,
      totals: before,
      change: { requestsPercent: change(totals.requests, before.requests), costPercent: change(totals.costMicros, before.costMicros) },
    },
  };
}

const usd = (micros: number) => `$${(micros / 1e6).toFixed(4)}`;
const pct = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${v}%`);

/** The report as plain text, for e-mail subscribers of the alerts topic and the stored text form. */
export function reportText(report: DailyReport): string {
  const t = report.totals;
  const lines = [
    `Hybrid Orchestrator daily report for ${report.day} (UTC)`,
    '',
    `Requests ${t.requests}, errors ${t.errors} (${(t.errorRate * 100).toFixed(2)}%), fallbacks ${t.fallbacks}, rate-limited ${t.rateLimited}`,
    `Tokens in ${t.inputTokens} (cached ${t.cachedTokens}), out ${t.outputTokens}; cost ${usd(t.costMicros)}${t.unpriced ? `, ${t.unpriced} unpriced` : ''}${t.estimated ? `, ${t.estimated} estimated` : ''}`,
    ...(t.cacheHits > 0 ? [`Response cache: ${t.cacheHits} answers served from cache, ${usd(Math.round(t.savedUsd * 1e6))} saved`] : []),
    `Versus ${report.previousDay.day}: requests ${pct(report.previousDay.change.requestsPercent)}, cost ${pct(report.previousDay.change.costPercent)}`,
    '',
    'By provider:',
    ...report.providers.map(
      (p) =>
        `  ${p.provider}: ${p.requests} requests, ${p.errors} errors (${(p.errorRate * 100).toFixed(2)}%), ${p.inputTokens}+${p.outputTokens} tokens, ${usd(p.costMicros)}, p50 ${p.latencyP50Ms ?? '-'} ms, p99 ${p.latencyP99Ms ?? '-'} ms, ${p.fallbacks} fallbacks`,
    ),
    '',
    'By task type:',
    ...report.taskTypes.map((x) => `  ${x.taskType}: ${x.requests} requests, ${x.errors} errors, ${usd(x.costMicros)}`),
    '',
    'Top users by cost:',
    ...report.topUsers.map((u, i) => `  ${i + 1}. ${u.userId}: ${usd(u.costMicros)} (${u.requests} requests)`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Builds, stores and announces the report of `day`; announcing happens once per day, however often it runs. */
export async function runDailyReport(
  day: string,
  deps: { records: ReportSources; store: ReportStore; alerts: AlertPublisher; markers: AlertMarkers; now: number },
): Promise<{ report: DailyReport; text: string; announced: boolean }> {
  const previousDay = shiftDay(day, -1);
  const [records, previous] = await Promise.all([deps.records.recordsOfDay(day), deps.records.recordsOfDay(previousDay)]);
  const report = buildDailyReport(day, records, previousDay, previous);
  const text = reportText(report);
  await deps.store.save(report, text);
  const announced = await deps.markers.claim(`report#${day}`, Math.ceil(deps.now / 1000) + 400 * 86_400);
  if (announced) {
    await deps.alerts.publish({
      kind: 'report',
      severity: 'info',
      subject: `Hybrid Orchestrator daily report ${day}: ${usd(report.totals.costMicros)}, ${report.totals.requests} requests`,
      message: text,
      context: { day, totals: report.totals, change: report.previousDay.change },
      at: new Date(deps.now).toISOString(),
    });
  }
  return { report, text, announced };
}

/** The UTC day before the instant `now` (what the 00:15 UTC run reports). */
export function previousUtcDay(now: number): string {
  return shiftDay(utcDay(now), -1);
}
