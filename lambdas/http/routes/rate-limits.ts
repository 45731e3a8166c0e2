/**
 * Live limiter state: `GET /api/rate-limits/status` for the caller (legacy contract), and for admins
 * `GET /admin/rate-limits/{userId}` and `DELETE /admin/rate-limits/{userId}` (reset every counter).
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { PLANS, type Plan } from '../../core/access/ports';
import { UserIdSchema, type ApiKeyService } from '../../core/access/api-keys';
import type { BackgroundTasks } from '../../core/background';
import type { RateLimiter } from '../../core/rate-limit/rate-limiter';
import type { Telemetry } from '../../core/telemetry';
import { caller, type AppEnv } from '../context';
import { errorResponse } from '../errors';
import { validate } from '../validation';
import { READ_DRAIN_MS } from '../../core/background';

const UserParamSchema = z.object({ userId: UserIdSchema, plan: z.enum(PLANS).optional() });

/** A user's plan as their newest active key says (plans belong to keys); `free` when they have none. */
async function planOf(deps: RateLimitRouteDeps, userId: string): Promise<Plan> {
  const keys = await deps.apiKeys.list(userId);
  const active = keys.filter((k) => k.status === 'active').sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return active[0]?.plan ?? 'free';
}

export interface RateLimitRouteDeps {
  limiter: RateLimiter;
  apiKeys: ApiKeyService;
  telemetry: Telemetry;
  background: BackgroundTasks;
}

export function rateLimitRoutes(deps: RateLimitRouteDeps) {
  const app = new Hono<AppEnv>();

  app.get('/api/rate-limits/status', async (c) => {
    const principal = caller(c);
    // Locally, token settlements of this instance's finished requests (the in-process consumer's
    // batches) land before the answer; on AWS the stream consumer applies them within its lag.
    await deps.background.drain(READ_DRAIN_MS);
    return c.json(await deps.limiter.status(principal.userId, principal.plan));
  });

  app.get('/admin/rate-limits/:userId', async (c) => {
    const parsed = validate(UserParamSchema, { userId: c.req.param('userId'), plan: c.req.query('plan') });
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { userId, plan } = parsed.value;
    return c.json(await deps.limiter.status(userId, plan ?? (await planOf(deps, userId))));
  });

  app.delete('/admin/rate-limits/:userId', async (c) => {
    const parsed = validate(UserParamSchema, { userId: c.req.param('userId') });
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { userId } = parsed.value;
    await deps.limiter.reset(userId);
    deps.telemetry.info('rate limits reset by an admin', { requestId: c.var.record.requestId, userId, by: caller(c).userId });
    return c.json({ userId, reset: true, status: await deps.limiter.status(userId, await planOf(deps, userId)) });
  });

  return app;
}
