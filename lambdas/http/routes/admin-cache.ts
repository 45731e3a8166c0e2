/**
 * `DELETE /admin/cache`: purges the response cache of one scope (`userId=...`, a user's own entries;
 * or `scope=...`, a shared scope given to keys), or one entry of it (`key=...`, the `x-cache-key` a
 * response carried). Other instances drop what they hold in memory within a minute.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { UserIdSchema } from '../../core/access/api-keys';
import { cacheScopeOf } from '../../core/ai/ai-requests';
import type { ResponseCache } from '../../core/ai/response-cache';
import type { AppEnv } from '../context';
import { errorResponse } from '../errors';
import { validate } from '../validation';

const PurgeQuerySchema = z
  .strictObject({
    userId: UserIdSchema.optional(),
    scope: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[\w.:-]+$/)
      .optional(),
    key: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'the x-cache-key of a response: 64 hex digits')
      .optional(),
  })
  .refine((q) => (q.userId === undefined) !== (q.scope === undefined), {
    message: 'give exactly one of userId and scope',
    path: ['userId'],
  });

export function adminCacheRoutes(deps: { cache: Pick<ResponseCache, 'purge'> | undefined }) {
  const app = new Hono<AppEnv>();
  app.delete('/admin/cache', async (c) => {
    const parsed = validate(PurgeQuerySchema, c.req.query());
    if (!parsed.ok) return errorResponse(c, 400, parsed.error);
    const { userId, scope, key } = parsed.value;
    const cacheScope = cacheScopeOf(userId !== undefined ? { userId } : { userId: '', cacheScope: scope! });
    const deleted = deps.cache ? await deps.cache.purge(cacheScope, key) : 0;
    return c.json({ object: 'cache.purge', scope: cacheScope, ...(key ? { key } : {}), deleted });
  });
  return app;
}
