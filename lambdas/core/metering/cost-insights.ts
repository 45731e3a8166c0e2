/**
 * What to change to spend less, computed from the usage records (never claimed): repeated requests a
 * cache would have answered, quality-model spend on prompts classified simple, and output caps far
 * above what answers use; and the cost views: daily cost per provider and model, a weekday-aware
 * month-end forecast, and what the cache and smart routing saved.
 */
import { tierTargets, type RouteTable, type TaskType } from '../ai/route-table';
import { dayStart, shiftDay, utcDay } from '../utc-day';
import { percentile } from './daily-report';
import type { AggregateRow } from './ports';
import { costMicros, priceOf, type PriceTable } from './pricing';
import type { UsageRecord } from './usage-record';

const usd = (micros: number) => Math.round(micros) / 1e6;

export interface Recommendation {
  type: 'cache' | 'model_downgrade' | 'max_tokens';
  title: string;
  potentialSavingsUsd: number;
  evidence: Record<string, number | string>;
  /** The change to make: a flag, a route-table diff, or a request setting. */
  change: Record<string, unknown>;
}

export function recommendations(records: UsageRecord[], table: RouteTable, prices: PriceTable): Recommendation[] {
  const answered = records.filter((r) => r.status === 200 && r.cache !== 'hit' && r.taskType !== null);
  const out: Recommendation[] = [];

  // 1. Cache opportunity: the same caller sending the same normalised request again.
  const groups = new Map<string, UsageRecord[]>();
  for (const r of answered) {
    if (!r.requestHash) continue;
    const key = `${r.userId ?? ''}\u0000${r.requestHash}`;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  const repeatedGroups = [...groups.values()].filter((g) => g.length > 1);
  const repeats = repeatedGroups.reduce((n, g) => n + g.length - 1, 0);
  // Every answer after the first in its group is one a cache would have served.
  const cacheable = repeatedGroups.reduce((sum, g) => sum + g.slice(1).reduce((s, r) => s + (r.costMicros ?? 0), 0), 0);
  const spend = answered.reduce((s, r) => s + (r.costMicros ?? 0), 0);
  if (repeats > 0) {
    out.push({
      type: 'cache',
      title: `${repeats} requests repeated an earlier identical request from the same user; the response cache would have answered them`,
      potentialSavingsUsd: usd(cacheable),
      evidence: {
        repeatedRequests: repeats,
        distinctRepeatedRequests: repeatedGroups.length,
        requestsWithHash: answered.filter((r) => r.requestHash).length,
        shareOfSpend: spend > 0 ? Number((cacheable / spend).toFixed(4)) : 0,
      },
      change: { flag: 'response_caching', value: { enabled: true, rollout_percentage: 100 } },
    });
  }

  // 2. Model downgrade: quality-tier models answering prompts classified simple.
  const byTask = new Map<TaskType, { count: number; saving: number; spend: number; models: Set<string> }>();
  for (const r of answered) {
    if (r.complexity !== 'simple' || !r.taskType || !r.provider || !r.model || r.costMicros === null) continue;
    const quality = new Set(tierTargets(table, r.taskType, 'quality').map((t) => `${t.provider}/${t.model}`));
    if (!quality.has(`${r.provider}/${r.model}`)) continue;
    const fast = tierTargets(table, r.taskType, 'fast')[0];
    const fastPrice = fast ? priceOf(prices, fast.provider, fast.model) : undefined;
    if (!fastPrice) continue;
    const onFast = costMicros(fastPrice, { promptTokens: r.inputTokens, completionTokens: r.outputTokens, cachedTokens: r.cachedTokens });
    const entry = byTask.get(r.taskType) ?? { count: 0, saving: 0, spend: 0, models: new Set<string>() };
    entry.count++;
    entry.spend += r.costMicros;
    entry.saving += Math.max(0, r.costMicros - onFast);
    entry.models.add(`${r.provider}/${r.model}`);
    byTask.set(r.taskType, entry);
  }
  for (const [task, entry] of byTask) {
    if (entry.saving <= 0) continue;
    const fast = tierTargets(table, task, 'fast')[0]!;
    out.push({
      type: 'model_downgrade',
      title: `${entry.count} ${task} prompts classified simple were answered by a quality model (${[...entry.models].join(', ')})`,
      potentialSavingsUsd: usd(entry.saving),
      evidence: { requests: entry.count, spendUsd: usd(entry.spend), fastTierModel: `${fast.provider}/${fast.model}` },
      change: {
        setting: `send model "auto" for ${task} (smart routing picks the tier per prompt)`,
        routeTableDiff: { tasks: { [task]: { smart: true } } },
      },
    });
  }

  // 3. max_tokens right-sizing: caps far above what answers use; the long tail past the cap is the saving.
  const capped = new Map<TaskType, UsageRecord[]>();
  for (const r of answered) {
    if (!r.maxTokens || !r.taskType) continue;
    const list = capped.get(r.taskType);
    if (list) list.push(r);
    else capped.set(r.taskType, [r]);
  }
  for (const [task, list] of capped) {
    if (list.length < 20) continue; // too few answers to know the task's usual length
    const outputs = list.map((r) => r.outputTokens).sort((a, b) => a - b);
    const caps = list.map((r) => r.maxTokens!).sort((a, b) => a - b);
    // Both lists hold at least 20 values: the percentiles exist.
    const p95 = percentile(outputs, 95)!;
    const medianCap = percentile(caps, 50)!;
    const suggested = Math.max(16, Math.ceil(p95 * 1.2));
    if (medianCap < suggested * 2) continue;
    const saving = list.reduce((sum, r) => {
      const price = r.provider && r.model ? priceOf(prices, r.provider, r.model) : undefined;
      const over = Math.max(0, r.outputTokens - suggested);
      return price && over > 0 ? sum + costMicros(price, { promptTokens: 0, completionTokens: over }) : sum;
    }, 0);
    out.push({
      type: 'max_tokens',
      title: `${task} requests ask for up to ${medianCap} output tokens (median) but 95% of answers use ${p95} or fewer`,
      potentialSavingsUsd: usd(saving),
      evidence: { requests: list.length, outputTokensP95: p95, maxTokensMedian: medianCap },
      change: { setting: `max_tokens: ${suggested} for ${task} requests`, maxTokens: suggested },
    });
  }
  return out.sort((a, b) => b.potentialSavingsUsd - a.potentialSavingsUsd);
}

export interface CostViews {
  days: Array<{ day: string; costUsd: number; byModel: Array<{ provider: string; model: string; costUsd: number }> }>;
  monthToDateUsd: number;
  forecast: { monthEndUsd: number; basis: string };
  savings: { cacheUsd: number; routingUsd: number; cacheHits: number };
}

/**
 * Daily cost per provider and model over the `days` days up to today, and the month-end forecast:
 * month to date, plus for each day left (and the rest of today) the average cost of that weekday in
 * the last four weeks, so a business-day-heavy workload is not forecast as flat.
 */
export function costViews(rows: AggregateRow[], now: number, days = 30): CostViews {
  const today = utcDay(now);
  const details = rows.filter((r): r is Extract<AggregateRow, { kind: 'detail' }> => r.kind === 'detail');
  const perDay = new Map<string, Map<string, number>>();
  for (const r of details) {
    const models = perDay.get(r.day) ?? new Map<string, number>();
    if (r.provider !== 'none')
      models.set(`${r.provider}\u0000${r.model}`, (models.get(`${r.provider}\u0000${r.model}`) ?? 0) + r.costMicros);
    perDay.set(r.day, models);
  }
  const dayCost = (day: string) => [...(perDay.get(day)?.values() ?? [])].reduce((a, b) => a + b, 0);
  const list = Array.from({ length: days }, (_, i) => shiftDay(today, i - days + 1)).map((day) => ({
    day,
    costUsd: usd(dayCost(day)),
    byModel: [...(perDay.get(day)?.entries() ?? [])]
      .map(([key, micros]) => {
        const [provider, model] = key.split('\u0000') as [string, string];
        return { provider, model, costUsd: usd(micros) };
      })
      .sort((a, b) => b.costUsd - a.costUsd),
  }));

  const weekday = (day: string) => new Date(dayStart(day)).getUTCDay();
  const history = Array.from({ length: 28 }, (_, i) => shiftDay(today, -(i + 1)));
  const withSpend = history.filter((d) => dayCost(d) > 0);
  // The days since spend began (a new deployment's earlier, empty days say nothing about its weekdays).
  const firstSpend = withSpend.at(-1);
  const known = firstSpend ? history.filter((d) => d >= firstSpend) : [];
  const overall = known.length > 0 ? known.reduce((s, d) => s + dayCost(d), 0) / known.length : 0;
  const expected = (day: string) => {
    const same = known.filter((d) => weekday(d) === weekday(day));
    return same.length > 0 ? same.reduce((s, d) => s + dayCost(d), 0) / same.length : overall;
  };
  const monthStart = `${today.slice(0, 7)}-01`;
  const mtd = details.filter((r) => r.day >= monthStart && r.day <= today).reduce((s, r) => s + r.costMicros, 0);
  const date = new Date(now);
  const daysInMonth = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  let forecast = mtd;
  let basis: string;
  if (withSpend.length > 0) {
    const elapsedToday = (now - dayStart(today)) / 86_400_000;
    forecast += Math.max(0, expected(today) * (1 - elapsedToday));
    for (let d = date.getUTCDate() + 1; d <= daysInMonth; d++) forecast += expected(`${today.slice(0, 8)}${String(d).padStart(2, '0')}`);
    basis = `month to date plus each remaining day at its weekday's average over the last 4 weeks (${withSpend.length} days with spend)`;
  } else {
    const elapsedToday = Math.max(1e-6, (now - dayStart(today)) / 86_400_000);
    forecast += (dayCost(today) / elapsedToday) * (daysInMonth - date.getUTCDate() + 1 - elapsedToday);
    basis = "month to date plus today's pace (no earlier spend to learn weekdays from)";
  }
  const inRange = details.filter((r) => r.day >= list[0]!.day);
  return {
    days: list,
    monthToDateUsd: usd(mtd),
    forecast: { monthEndUsd: usd(forecast), basis },
    savings: {
      cacheUsd: usd(inRange.reduce((s, r) => s + r.savedMicros, 0)),
      routingUsd: usd(inRange.reduce((s, r) => s + r.routingSavedMicros, 0)),
      cacheHits: inRange.reduce((s, r) => s + r.cacheHits, 0),
    },
  };
}
