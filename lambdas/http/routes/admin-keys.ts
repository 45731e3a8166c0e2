/** Admin API for keys: create (the secret is shown once), list per user, revoke. */
import { Hono } from 'hono';
import * as z from 'zod';
import { CreateApiKeySchema, describeKey, KEY_ID } from '../../core/access/api-keys';
import type { ApiKeyService } from '../../core/access/api-keys';
import type { AppEnv } from '../context';
import { echoed } from '../../core/errors';
import { errorResponse } from '../errors';
import { parseJsonBody, validate } from '../validation';

const ListQuerySchema = z.object({ userId: z.string().min(1).max(128) });

export function adminKeyRoutes(deps: { apiKeys: ApiKeyService }) {
  const app = new Hono<AppEnv>();

  app.post('/admin/api-keys', async (c) => {
    const parsed = await parseJsonBody(c, CreateApiKeySchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { record, key } = await deps.apiKeys.create(parsed.value);
    const { id, userId, plan, role, expiresAt, cacheScope } = describeKey(record);
    return c.json({ id, key, userId, plan, role, ...(expiresAt ? { expiresAt } : {}), ...(cacheScope ? { cacheScope } : {}) }, 201);
  });

  app.get('/admin/api-keys', async (c) => {
    const parsed = validate(ListQuerySchema, { userId: c.req.query('userId') });
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const records = await deps.apiKeys.list(parsed.value.userId);
    return c.json({ object: 'list', data: records.map(describeKey) });
  });

  app.delete('/admin/api-keys/:id', async (c) => {
    const id = c.req.param('id');
    // An id no key can have is not looked up (nor echoed at its full length): DynamoDB refuses keys over 2 KB.
    if (!KEY_ID.test(id) || !(await deps.apiKeys.revoke(id))) {
      return errorResponse(c, 404, {
        message: `No API key with id ${echoed(id, 24)}.`,
        type: 'invalid_request_error',
        code: 'not_found',
        param: 'id',
      });
    }
    return c.json({ id, object: 'api_key', deleted: true, status: 'revoked' });
  });

  return app;
}
