/** `Authorization: Bearer <key>` for `/v1/*` (any active key) and `/admin/*` (role admin). */
import type { MiddlewareHandler } from 'hono';
import type { Role } from '../core/api-keys';
import type { AppDeps, AppEnv } from './context';
import { errorResponse } from './errors';

export function authenticate(deps: AppDeps, required: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      return errorResponse(c, 401, {
        message: 'Missing API key. Send it as "Authorization: Bearer <key>".',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      });
    }
    let principal;
    try {
      principal = await deps.apiKeys.authenticate(match[1]);
    } catch (error) {
      deps.telemetry.error('api key lookup failed', { requestId: c.get('requestId'), error: (error as Error).name });
      return errorResponse(c, 503, {
        message: 'Authentication is temporarily unavailable; retry shortly.',
        type: 'service_unavailable',
        code: 'auth_unavailable',
        retryAfterSeconds: 1,
      });
    }
    if (!principal) {
      return errorResponse(c, 401, { message: 'Invalid or revoked API key.', type: 'invalid_request_error', code: 'invalid_api_key' });
    }
    c.set('principal', principal);
    if (required === 'admin' && principal.role !== 'admin') {
      return errorResponse(c, 403, { message: 'This route needs an admin key.', type: 'permission_error', code: 'forbidden' });
    }
    await next();
  };
}
