/**
 * `Authorization: Bearer <key>` for `/v1/*` and `/api/*` (any active key) and `/admin/*` (role
 * admin). AI routes also pass an admission step (rate limits and token quota): when the key's cache
 * entry has expired but its owner is known, the key re-check and the admission run in parallel, so
 * a cache miss costs one round trip, not two.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { Principal, Role } from '../core/access/ports';
import type { AppDeps, AppEnv } from './context';
import { errorResponse } from './errors';
import type { AdmitOutcome } from './rate-limits';

export type Admission = (c: Context<AppEnv>, deps: AppDeps, principal: Principal) => Promise<AdmitOutcome>;

const unavailable = (c: Context<AppEnv>) =>
  errorResponse(c, 503, {
    message: 'Authentication is temporarily unavailable; retry shortly.',
    type: 'service_unavailable',
    code: 'auth_unavailable',
    retryAfterSeconds: 1,
  });

const invalidKey = (c: Context<AppEnv>) =>
  errorResponse(c, 401, { message: 'Invalid or revoked API key.', type: 'invalid_request_error', code: 'invalid_api_key' });

export function authenticate(deps: AppDeps, required: Role, admission?: Admission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Another matching middleware (an AI route's) already did the work.
    if (c.get('principal')) return next();
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
      const [auth, admitted] = await Promise.allSettled([deps.apiKeys.authenticate(key), admit(c, deps, hint)]);
      outcome = admitted.status === 'fulfilled' ? admitted.value : undefined;
      const valid = auth.status === 'fulfilled' && auth.value !== null && auth.value.userId === hint.userId && auth.value.plan === hint.plan;
      if (!valid) {
        // Counted for a key that turned out revoked (or, in theory, reassigned): give the slot back.
        if (outcome?.ok) await outcome.undo().catch(() => undefined);
        outcome = undefined;
        c.set('rateLimit', undefined);
      }
      if (auth.status === 'rejected') {
        deps.telemetry.error('api key lookup failed', { requestId: c.get('requestId'), error: (auth.reason as Error).name });
        return unavailable(c);
      }
      principal = auth.value;
    } else {
      try {
        principal = cached !== undefined ? cached : await deps.apiKeys.authenticate(key);
      } catch (error) {
        deps.telemetry.error('api key lookup failed', { requestId: c.get('requestId'), error: (error as Error).name });
        return unavailable(c);
      }
    }
    if (!principal) return invalidKey(c);
    c.set('principal', principal);
    if (required === 'admin' && principal.role !== 'admin') {
      return errorResponse(c, 403, { message: 'This route needs an admin key.', type: 'permission_error', code: 'forbidden' });
    }
    if (admit) {
      outcome ??= await admit(c, deps, principal);
      for (const [name, value] of outcome.headers) c.header(name, value);
      if (!outcome.ok) return errorResponse(c, outcome.status, outcome.spec);
    }
    await next();
    // Buffered answers are complete here; streams settle when they end.
    if (!c.get('deferSummary')) {
      // Failed or refused before a provider answered: nothing used. An answer without usage keeps its reservation.
      const ai = c.get('ai');
      const used = ai?.usage ? ai.usage.totalTokens : ai?.outcome === 'ok' ? undefined : 0;
      if (used !== undefined) await c.get('settleTokens')?.(used);
    }
  };
}
