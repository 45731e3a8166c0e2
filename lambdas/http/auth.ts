/**
 * `Authorization: Bearer <key>` for `/v1/*` and `/api/*` (any active key) and `/admin/*` (role
 * admin). AI routes also pass an admission step (rate limits and token quota): when the key's cache
 * entry has expired but its owner is known, the key re-check and the admission run in parallel, so
 * a cache miss costs one round trip, not two.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiKeyService } from '../core/access/api-keys';
import type { Principal, Role } from '../core/access/ports';
import { errorFields } from '../core/errors';
import type { Telemetry } from '../core/telemetry';
import type { AppEnv } from './context';
import { errorResponse } from './errors';
import type { Admission, AdmitOutcome } from './rate-limits';

export interface AuthDeps {
  apiKeys: ApiKeyService;
  telemetry: Telemetry;
}

const unavailable = (c: Context<AppEnv>) =>
  errorResponse(c, 503, {
    message: 'Authentication is temporarily unavailable; retry shortly.',
    type: 'service_unavailable',
    code: 'auth_unavailable',
    retryAfterSeconds: 1,
  });

const invalidKey = (c: Context<AppEnv>) =>
  errorResponse(c, 401, { message: 'Invalid or revoked API key.', type: 'invalid_request_error', code: 'invalid_api_key' });

export function authenticate(deps: AuthDeps, required: Role, admission?: Admission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const record = c.var.record;
    // Another matching middleware (an AI route's) already did the work.
    if (record.principal) return next();
    const header = c.req.header('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      return errorResponse(c, 401, {
        message: 'Missing API key. Send it as "Authorization: Bearer <key>".',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      });
    }
    const key = match[1];
    const admit = admission && c.req.method === 'POST' ? admission : undefined;
    const cached = deps.apiKeys.cached(key);
    const hint = admit && cached === undefined ? deps.apiKeys.lastKnown(key) : undefined;

    let principal: Principal | null;
    let outcome: AdmitOutcome | undefined;
    if (admit && hint) {
      const [auth, admitted] = await Promise.allSettled([deps.apiKeys.authenticate(key), admit(c, hint)]);
      outcome = admitted.status === 'fulfilled' ? admitted.value : undefined;
      const valid =
        auth.status === 'fulfilled' && auth.value !== null && auth.value.userId === hint.userId && auth.value.plan === hint.plan;
      if (!valid) {
        // Counted for a key that turned out revoked (or, in theory, reassigned): give the slot back.
        if (outcome?.ok) await outcome.undo().catch(() => undefined);
        outcome = undefined;
        record.rateLimit = undefined;
      }
      if (auth.status === 'rejected') {
        deps.telemetry.error('api key lookup failed', { requestId: record.requestId, error: errorFields(auth.reason) });
        return unavailable(c);
      }
      principal = auth.value;
    } else {
      try {
        principal = cached !== undefined ? cached : await deps.apiKeys.authenticate(key);
      } catch (error) {
        deps.telemetry.error('api key lookup failed', { requestId: record.requestId, error: errorFields(error) });
        return unavailable(c);
      }
    }
    if (!principal) return invalidKey(c);
    record.principal = principal;
    if (required === 'admin' && principal.role !== 'admin') {
      return errorResponse(c, 403, { message: 'This route needs an admin key.', type: 'permission_error', code: 'forbidden' });
    }
    if (admit) {
      outcome ??= await admit(c, principal);
      for (const [name, value] of outcome.headers) c.header(name, value);
      if (!outcome.ok) return errorResponse(c, outcome.status, outcome.spec);
    }
    // The reservation is settled from the request's usage record (buffered answers and streams alike).
    await next();
  };
}
