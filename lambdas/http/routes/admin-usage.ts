/**
 * Admin reads of usage and spend: `GET /admin/usage?from=&to=&groupBy=` over the aggregates, and
 * `GET /admin/costs` (today, month to date per provider, month-end forecast).
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { costOverview, GROUP_BY, groupUsage } from '../../core/metering/usage-report';
import { utcDay, UtcDaySchema } from '../../core/utc-day';
import type { AppDeps, AppEnv } from '../context';

export type AdminUsageRouteDeps = Pick<AppDeps, 'usage' | 'reports' | 'prices' | 'background' | 'clock'>;
import { badRequest, errorResponse } from '../errors';
import { queryDays, validate } from '../validation';
import { READ_DRAIN_MS } from '../../core/background';

const UsageQuerySchema = z.object({
  from: UtcDaySchema.optional(),
  to: UtcDaySchema.optional(),
  groupBy: z.enum(GROUP_BY).default('provider'),
});
const DateQuery = z.object({ date: UtcDaySchema });

export function adminUsageRoutes(deps: AdminUsageRouteDeps) {
  const app = new Hono<AppEnv>();

  app.get('/admin/usage', async (c) => {
    const parsed = validate(UsageQuerySchema, { from: c.req.query('from'), to: c.req.query('to'), groupBy: c.req.query('groupBy') });
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const days = queryDays(parsed.value, utcDay(deps.clock.now()));
    if (!days.ok) return errorResponse(c, 400, days.error);
    const { from, to } = days;
    // This instance's own recent requests are counted before answering.
    await deps.background.drain(READ_DRAIN_MS);
    const { groups, totals } = groupUsage(await deps.usage.aggregates(from, to), parsed.value.groupBy);
    return c.json({ object: 'usage', from, to, groupBy: parsed.value.groupBy, priceVersion: deps.prices.version, data: groups, totals });
  });

  app.get('/admin/costs', async (c) => {
    const now = deps.clock.now();
    const today = utcDay(now);
    await deps.background.drain(READ_DRAIN_MS);
    const rows = await deps.usage.aggregates(`${today.slice(0, 8)}01`, today);
    return c.json({
      object: 'costs',
      currency: 'USD',
      priceVersion: deps.prices.version,
      priceSource: deps.prices.source,
      ...costOverview(rows, now),
    });
  });

  /** Builds (or rebuilds, identically) a day's report, stores it, and announces it once. */
  app.post('/admin/reports/daily', async (c) => {
    const parsed = validate(DateQuery, { date: c.req.query('date') });
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    // A day still running (or not begun) has no report yet, and announcing it would use up its one announcement.
    if (parsed.value.date >= utcDay(deps.clock.now())) {
      return errorResponse(
        c,
        400,
        badRequest(`${parsed.value.date} is not over yet: reports are built for complete UTC days.`, 'date', 'day_not_complete'),
      );
    }
    await deps.background.drain(READ_DRAIN_MS);
    return c.json(await deps.reports.run(parsed.value.date));
  });

  app.get('/admin/reports/daily', async (c) => {
    const parsed = validate(DateQuery, { date: c.req.query('date') });
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const stored = await deps.reports.get(parsed.value.date);
    if (!stored)
      return errorResponse(c, 404, {
        message: `No report for ${parsed.value.date} yet.`,
        type: 'invalid_request_error',
        code: 'not_found',
        param: 'date',
      });
    return c.json(stored);
  });

  return app;
}
