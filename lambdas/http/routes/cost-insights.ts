/**
 * Spending less, for admins: `GET /admin/recommendations?from=&to=` (also `POST
 * /api/ai-providers/optimize`, the legacy name, which returns the same and changes nothing) and
 * `GET /api/ai-providers/costs` (daily cost per provider and model for 30 days, the month-end
 * forecast, the savings of the cache and smart routing). All three need an admin key (checked by the
 * app's `authenticate` for these paths).
 */
import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { READ_DRAIN_MS } from '../../core/background';
import { costViews, recommendations } from '../../core/metering/cost-insights';
import type { UsageRecord } from '../../core/metering/usage-record';
import { daysBetween, shiftDay, utcDay, UtcDaySchema } from '../../core/utc-day';
import type { AppDeps, AppEnv } from '../context';
import { errorResponse } from '../errors';
import { dayRangeProblem, validate } from '../validation';

export type CostInsightRouteDeps = Pick<AppDeps, 'usage' | 'background' | 'clock' | 'routes' | 'pricing'>;

/** Records are read day by day: a bounded range keeps the read bounded. */
const MAX_DAYS = 31;
/** At most this many records are analysed (the most recent); the answer says when it sampled. */
const MAX_RECORDS = 200_000;
const RangeSchema = z.object({ from: UtcDaySchema.optional(), to: UtcDaySchema.optional() });

export function costInsightRoutes(deps: CostInsightRouteDeps) {
  const app = new Hono<AppEnv>();

  const recommend = async (c: Context<AppEnv>, query: Record<string, string | undefined>) => {
    const parsed = validate(RangeSchema, query);
    if (!parsed.ok) return errorResponse(c, 400, parsed.error);
    const today = utcDay(deps.clock.now());
    const to = parsed.value.to ?? today;
    const from = parsed.value.from ?? shiftDay(to, -6);
    const rangeProblem = dayRangeProblem(from, to, MAX_DAYS);
    if (rangeProblem) return errorResponse(c, 400, rangeProblem);
    await deps.background.drain(READ_DRAIN_MS);
    let records: UsageRecord[] = [];
    // Newest day first, so a range too large to analyse whole keeps its most recent records.
    for (const day of daysBetween(from, to).reverse()) {
      if (records.length >= MAX_RECORDS) break;
      records = records.concat(await deps.usage.recordsOfDay(day));
    }
    const sampled = records.length > MAX_RECORDS;
    if (sampled) records = records.slice(0, MAX_RECORDS);
    const list = recommendations(records, deps.routes(), deps.pricing);
    return c.json({
      object: 'recommendations',
      from,
      to,
      requests: records.length,
      ...(sampled ? { sampled: `the ${MAX_RECORDS} most recent records of the range` } : {}),
      totalPotentialSavingsUsd: Number(list.reduce((s, r) => s + r.potentialSavingsUsd, 0).toFixed(6)),
      data: list,
    });
  };

  app.get('/admin/recommendations', (c) => recommend(c, { from: c.req.query('from'), to: c.req.query('to') }));
  app.post('/api/ai-providers/optimize', (c) => recommend(c, { from: c.req.query('from'), to: c.req.query('to') }));

  app.get('/api/ai-providers/costs', async (c) => {
    await deps.background.drain(READ_DRAIN_MS);
    const now = deps.clock.now();
    const today = utcDay(now);
    // 30 days shown, and the 4 weeks before today the forecast learns weekdays from, and the month so far.
    const from = [shiftDay(today, -29), shiftDay(today, -28), `${today.slice(0, 7)}-01`].sort()[0]!;
    const views = costViews(await deps.usage.aggregates(from, today), now, 30);
    return c.json({ object: 'costs', ...views });
  });

  return app;
}
