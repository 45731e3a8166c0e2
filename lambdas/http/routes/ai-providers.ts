/**
 * Provider health and failover (`/api/ai-providers/*`, legacy error shape):
 * - `GET health`: every target's status, recent latency, error rate, circuit state, next probe;
 * - `GET performance?window=1h|24h|7d`: calls, success rate, latency and first-token percentiles, fallbacks;
 * - `GET quotas`: the providers' own last reported limits, and the fleet's requests and tokens per minute;
 * - `POST failover` (admin): take a target out of (or back into) rotation for the whole fleet;
 * - `POST test` (admin): call a target now with its configured credentials, without touching its breaker.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { perRouteTable, ProviderIdSchema, targetKey, type PlannedTarget } from '../../core/ai/route-table';
import { healthView, quotaView } from '../../core/health/health-view';
import { configuredTargets, pingTarget } from '../../core/health/heartbeats';
import { PERFORMANCE_WINDOWS, targetPerformance, type PerformanceWindow } from '../../core/metering/performance';
import { utcDay } from '../../core/utc-day';
import { caller, type AppDeps, type AppEnv } from '../context';
import { badRequest, errorResponse } from '../errors';
import { parseJsonBody, validate } from '../validation';
import { READ_DRAIN_MS } from '../../core/background';

export type AiProviderRouteDeps = Pick<AppDeps, 'routes' | 'providers' | 'health' | 'usage' | 'background' | 'clock'>;

const TargetSchema = z.strictObject({
  provider: ProviderIdSchema,
  /** The public model name or the deployment; all of the provider's targets when omitted. */
  model: z.string().min(1).max(256).optional(),
});

const FailoverSchema = TargetSchema.extend({
  state: z.enum(['down', 'maintenance', 'up']),
  /** How long a `down`/`maintenance` lasts before the target returns by itself (default 1 h, at most 7 days). */
  durationSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(3600),
  reason: z.string().trim().min(1).max(500),
});

const PerformanceQuery = z.object({
  window: z.enum(Object.keys(PERFORMANCE_WINDOWS) as [PerformanceWindow, ...PerformanceWindow[]]).default('24h'),
});

export function aiProviderRoutes(deps: AiProviderRouteDeps) {
  const app = new Hono<AppEnv>();
  // The targets of the route table in force (it changes with runtime provider configurations).
  const targetsOf = perRouteTable(configuredTargets);
  const currentTargets = () => targetsOf(deps.routes());
  const matching = (provider: string, model: string | undefined): PlannedTarget[] =>
    currentTargets().filter((t) => t.provider === provider && (model === undefined || t.model === model || t.upstreamModel === model));
  const noTarget = (provider: string, model: string | undefined) =>
    badRequest(`No configured target is ${provider}${model ? ` ${model}` : ''}.`, model ? 'model' : 'provider', 'target_not_found');

  app.get('/api/ai-providers/health', async (c) => {
    await deps.health.refresh();
    const targets = currentTargets();
    const stats = await deps.health.stats(targets.map(targetKey));
    const now = deps.clock.now();
    return c.json({
      object: 'list',
      checkedAt: new Date(now).toISOString(),
      data: targets.map((t) => healthView(t, deps.health.state(targetKey(t)), stats[targetKey(t)], now)),
    });
  });

  app.get('/api/ai-providers/performance', async (c) => {
    const parsed = validate(PerformanceQuery, { window: c.req.query('window') });
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const now = deps.clock.now();
    // This instance's own recent requests are counted before answering.
    await deps.background.drain(READ_DRAIN_MS);
    const rows = await deps.usage.aggregates(utcDay(now - PERFORMANCE_WINDOWS[parsed.value.window]), utcDay(now));
    return c.json({
      object: 'performance',
      window: parsed.value.window,
      until: new Date(now).toISOString(),
      data: targetPerformance(rows, parsed.value.window, now),
    });
  });

  app.get('/api/ai-providers/quotas', async (c) => {
    const targets = currentTargets();
    const stats = await deps.health.stats(targets.map(targetKey));
    const now = deps.clock.now();
    return c.json({
      object: 'list',
      data: targets.map((t) => {
        const key = targetKey(t);
        const limits = stats[key]?.limits ?? deps.health.lastLimits(key);
        return quotaView(t, stats[key], limits, deps.health.nearLimit(t), now);
      }),
    });
  });

  app.post('/api/ai-providers/failover', async (c) => {
    const who = caller(c);
    const parsed = await parseJsonBody(c, FailoverSchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { provider, model, state, durationSeconds, reason } = parsed.value;
    const chosen = matching(provider, model);
    if (chosen.length === 0) return errorResponse(c, 404, noTarget(provider, model));
    const now = deps.clock.now();
    const by = `${who.userId} (${who.keyId})`;
    const override = state === 'up' ? ('up' as const) : { state, until: now + durationSeconds * 1000, by, reason, at: now };
    const stats = await deps.health.stats(chosen.map(targetKey));
    const updated = [];
    for (const target of chosen) {
      const written = await deps.health.setManual(targetKey(target), override, by, reason);
      updated.push(healthView(target, written, stats[targetKey(target)], now, { showWho: true }));
    }
    return c.json({ object: 'list', data: updated });
  });

  app.post('/api/ai-providers/test', async (c) => {
    const parsed = await parseJsonBody(c, TargetSchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { provider: id, model } = parsed.value;
    const chosen = matching(id, model);
    if (chosen.length === 0) return errorResponse(c, 404, noTarget(id, model));
    const provider = await deps.providers.get(id).catch(() => undefined);
    const results = await Promise.all(
      chosen.map(async (target) => {
        if (!provider) return { target: targetKey(target), ok: false, latencyMs: null, errorClass: 'not_configured', status: null };
        const ping = await pingTarget(provider, target, deps.clock);
        return ping.ok
          ? {
              target: targetKey(target),
              ok: true,
              latencyMs: ping.latencyMs,
              timeToFirstTokenMs: ping.firstEventMs,
              errorClass: null,
              status: 200,
            }
          : {
              target: targetKey(target),
              ok: false,
              latencyMs: ping.latencyMs,
              errorClass: ping.failure.errorClass,
              status: ping.failure.status ?? null,
            };
      }),
    );
    return c.json({ object: 'list', data: results });
  });

  return app;
}
