/**
 * Providers managed at runtime (admin only): list, read, create, replace and delete provider
 * configurations, test one with a real call, and read its usage. Keys are accepted on create and
 * replace and never returned; every change is checked (a task must keep a reachable target) and
 * audit-logged by the service (`core/ai/provider-configs.ts`).
 */
import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { READ_DRAIN_MS } from '../../core/background';
import { echoed, errorFields } from '../../core/errors';
import { ProviderConfigError, ProviderConfigInputSchema, type ProviderConfigs } from '../../core/ai/provider-configs';
import { planRoute, ProviderIdSchema, targetKey, type RouteTable } from '../../core/ai/route-table';
import { pingTarget } from '../../core/health/heartbeats';
import { groupUsage } from '../../core/metering/usage-report';
import { utcDay, UtcDaySchema } from '../../core/utc-day';
import { caller, type AppDeps, type AppEnv } from '../context';
import { badRequest, errorResponse } from '../errors';
import { parseJsonBody, queryDays, validate } from '../validation';

export type AdminProviderRouteDeps = Pick<AppDeps, 'routes' | 'providers' | 'usage' | 'background' | 'clock' | 'telemetry'> & {
  providerConfigs: Pick<ProviderConfigs, 'describe' | 'change'>;
  /** A fresh id for each stored key version. */
  keyVersion: () => string;
};

const UsageQuery = z.object({ from: UtcDaySchema.optional(), to: UtcDaySchema.optional() });
const TestBody = z.strictObject({ model: z.string().min(1).max(200).optional() });
const CreateBody = ProviderConfigInputSchema.extend({ id: z.string().min(1).max(63) });

export function adminProviderRoutes(deps: AdminProviderRouteDeps) {
  const app = new Hono<AppEnv>();

  // The id is echoed only as long as an id can be.
  const notFound = (id: string) => ({
    message: `No provider ${echoed(id, 63)}.`,
    type: 'invalid_request_error',
    code: 'not_found',
    param: 'id',
  });
  /** The provider a path names, when the table holds it (an id no provider can have, such as `constructor`, is not found). */
  const catalogOf = (table: RouteTable, id: string) => (ProviderIdSchema.safeParse(id).success ? table.providers[id] : undefined);
  /** Runs a change; the service's refusals become their 4xx, a store outage a 503 (the change was not made). */
  const change = async (c: Context<AppEnv>, run: () => Promise<void>, id: string, status: 200 | 201) => {
    try {
      await run();
    } catch (error) {
      if (error instanceof ProviderConfigError)
        return errorResponse(c, error.status, {
          message: error.message,
          type: 'invalid_request_error',
          code: error.code,
          param: error.param,
        });
      deps.telemetry.error('provider configuration not changed', { provider: id, error: errorFields(error) });
      return errorResponse(c, 503, {
        message: 'The provider configuration store is unavailable; nothing was changed. Retry shortly.',
        type: 'api_error',
        code: 'store_unavailable',
        param: null,
        retryAfterSeconds: 5,
      });
    }
    const [described] = await deps.providerConfigs.describe(id);
    return described ? c.json(described, status) : c.json({ id, object: 'provider', deleted: true });
  };

  app.get('/admin/providers', async (c) => c.json({ object: 'list', data: await deps.providerConfigs.describe() }));

  app.get('/admin/providers/:id', async (c) => {
    const [described] = await deps.providerConfigs.describe(c.req.param('id'));
    return described ? c.json(described) : errorResponse(c, 404, notFound(c.req.param('id')));
  });

  app.post('/admin/providers', async (c) => {
    const parsed = await parseJsonBody(c, CreateBody);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { id, ...input } = parsed.value;
    return change(c, () => deps.providerConfigs.change('create', id, input, caller(c).keyId, deps.keyVersion), id, 201);
  });

  app.put('/admin/providers/:id', async (c) => {
    const parsed = await parseJsonBody(c, ProviderConfigInputSchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const id = c.req.param('id');
    return change(c, () => deps.providerConfigs.change('replace', id, parsed.value, caller(c).keyId, deps.keyVersion), id, 200);
  });

  app.delete('/admin/providers/:id', async (c) => {
    const id = c.req.param('id');
    return change(c, () => deps.providerConfigs.change('remove', id, undefined, caller(c).keyId, deps.keyVersion), id, 200);
  });

  /** A real one-token call to the provider with its current credentials: the result and the latency. */
  app.post('/admin/providers/:id/test', async (c) => {
    const id = c.req.param('id');
    const parsed = await parseJsonBody(c, TestBody, { emptyAs: {} });
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const table = deps.routes();
    const catalog = catalogOf(table, id);
    if (!catalog) return errorResponse(c, 404, notFound(id));
    const model = parsed.value.model ?? catalog.models[0]!;
    if (!catalog.models.includes(model))
      return errorResponse(c, 400, badRequest(`Provider ${id} does not list the model ${model}.`, 'model', 'model_not_found'));
    const provider = await deps.providers.get(id);
    if (!provider)
      return c.json({
        id,
        object: 'provider.test',
        ok: false,
        model,
        latencyMs: null,
        error: { type: 'not_configured', message: `Provider ${id} has no credentials.` },
      });
    // The target as a request naming this model would get it (this provider first).
    const target = planRoute(table, 'general', model).find((t) => t.provider === id) ?? {
      ...planRoute(table, 'general', undefined)[0]!,
      provider: id,
      model,
      upstreamModel: catalog.deployments?.[model] ?? model,
    };
    const ping = await pingTarget(provider, target, deps.clock);
    return c.json({
      id,
      object: 'provider.test',
      ok: ping.ok,
      target: targetKey(target),
      model,
      latencyMs: ping.latencyMs,
      ...(ping.ok
        ? { firstEventMs: ping.firstEventMs }
        : {
            error: {
              type: ping.failure.errorClass,
              status: ping.failure.status ?? null,
              message: ping.failure.body?.error.message ?? null,
            },
          }),
    });
  });

  /** The provider's usage per model over a range of UTC days (default today), from the aggregates. */
  app.get('/admin/providers/:id/usage', async (c) => {
    const id = c.req.param('id');
    if (!catalogOf(deps.routes(), id)) return errorResponse(c, 404, notFound(id));
    const parsed = validate(UsageQuery, { from: c.req.query('from'), to: c.req.query('to') });
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    // The same days and bound as GET /admin/usage.
    const days = queryDays(parsed.value, utcDay(deps.clock.now()));
    if (!days.ok) return errorResponse(c, 400, days.error);
    const { from, to } = days;
    await deps.background.drain(READ_DRAIN_MS);
    const rows = (await deps.usage.aggregates(from, to)).filter((row) => row.kind === 'detail' && row.provider === id);
    const { groups, totals } = groupUsage(rows, 'model');
    return c.json({ id, object: 'provider.usage', from, to, data: groups, totals });
  });

  return app;
}
