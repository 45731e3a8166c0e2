/** Builds the request's log summary from what the HTTP layer knows about it. */
import type { Context } from 'hono';
import type { Clock } from '../core/ports';
import type { RequestSummary } from '../core/request-summary';
import type { AppDeps, AppEnv } from './context';

export function requestSummary(c: Context<AppEnv>, clock: Clock, status: number): RequestSummary {
  const principal = c.get('principal');
  const awsRequestId = (c.env?.context ?? c.env?.lambdaContext)?.awsRequestId;
  const ai = c.get('ai');
  const rateLimit = c.get('rateLimit');
  const rollout = c.get('rollout');
  const errorCode = c.get('errorCode');
  return {
    requestId: c.get('requestId'),
    ...(awsRequestId ? { awsRequestId } : {}),
    method: c.req.method,
    path: c.req.path,
    status,
    latencyMs: clock.now() - c.get('startedAt'),
    ...(principal ? { userId: principal.userId, keyId: principal.keyId } : {}),
    ...(errorCode ? { errorCode } : {}),
    ...(rollout ? { rollout } : {}),
    ...(rateLimit ? { rateLimit } : {}),
    ...(ai ? { ai } : {}),
  };
}

/** The request is over: one log line and metrics now, usage and alerts after the response. */
export function finishRequest(c: Context<AppEnv>, deps: AppDeps, status: number): RequestSummary {
  const summary = requestSummary(c, deps.clock, status);
  deps.telemetry.record(summary);
  deps.afterRequest(summary);
  return summary;
}
