/**
 * `POST /api/onlyfans/messages` (legacy contract): validate, then let the message service check the
 * `onlyfans_messaging` limit and forward. Storage failures fail closed: compliance first.
 */
import { Hono } from 'hono';
import { errorFields } from '../../core/errors';
import * as z from 'zod';
import type { MessageService } from '../../core/messaging/message-service';
import type { Telemetry } from '../../core/telemetry';
import { caller, type AppEnv } from '../context';
import { badRequest, errorResponse } from '../errors';
import { limiterUnavailableSpec, noteLimiterFailure, noteRefusal, setLimitHeaders } from '../rate-limits';
import { parseJsonBody } from '../validation';

const id = z.string().min(1).max(128);
export const OnlyFansMessageSchema = z.object({
  creatorId: id,
  fanId: id,
  text: z.string().min(1).max(5000),
  mediaIds: z.array(z.string().min(1).max(128)).max(20).optional(),
});
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

export interface OnlyFansRouteDeps {
  messages: MessageService;
  telemetry: Telemetry;
}

export function onlyFansRoutes(deps: OnlyFansRouteDeps) {
  const app = new Hono<AppEnv>();

  app.post('/api/onlyfans/messages', async (c) => {
    const idempotencyKey = c.req.header('idempotency-key');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      return errorResponse(c, 400, badRequest('Idempotency-Key must be 1 to 128 printable ASCII characters.', 'Idempotency-Key'));
    }
    const parsed = await parseJsonBody(c, OnlyFansMessageSchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { creatorId, fanId, text, mediaIds } = parsed.value;
    const record = c.var.record;

    let outcome;
    try {
      outcome = await deps.messages.send(caller(c), { creatorId, fanId, text, ...(mediaIds ? { mediaIds } : {}) }, idempotencyKey);
    } catch (error) {
      // Compliance first: messaging always fails closed.
      noteLimiterFailure(record, deps.telemetry, 'onlyfans_messaging', 'closed', error);
      return errorResponse(c, 503, limiterUnavailableSpec);
    }

    switch (outcome.kind) {
      case 'sent':
        if (outcome.unrecorded) {
          deps.telemetry.error('idempotency record not stored', { requestId: record.requestId, error: errorFields(outcome.unrecorded) });
        }
        record.rateLimit = { policy: 'onlyfans_messaging', outcome: 'admitted' };
        setLimitHeaders(c, outcome.decision);
        return c.json(outcome.body, 202);
      case 'replayed':
        c.header('idempotent-replayed', 'true');
        return c.body(outcome.body, outcome.status as 202, { 'content-type': 'application/json' });
      case 'refused':
        setLimitHeaders(c, outcome.decision);
        return errorResponse(c, 429, noteRefusal(record, 'onlyfans_messaging', outcome.decision));
      case 'in_progress':
        return errorResponse(c, 503, {
          message: 'A request with this Idempotency-Key is still being processed; retry shortly for its result.',
          type: 'service_unavailable',
          code: 'idempotency_in_progress',
          retryAfterSeconds: 1,
        });
      case 'not_sent':
        return errorResponse(c, 503, {
          message: 'Storage answered too slowly to send this message safely: it was not sent and not counted. Retry shortly.',
          type: 'service_unavailable',
          code: 'storage_slow',
          retryAfterSeconds: 1,
        });
      case 'key_reused':
        return errorResponse(
          c,
          400,
          badRequest('This Idempotency-Key was already used for a different message.', 'Idempotency-Key', 'idempotency_key_reused'),
        );
      case 'upstream_error':
        record.rateLimit = { policy: 'onlyfans_messaging', outcome: 'admitted' };
        deps.telemetry.error('onlyfans gateway failed', {
          requestId: record.requestId,
          reason: outcome.reason,
          error: errorFields(outcome.error),
        });
        return errorResponse(c, 502, {
          message: outcome.counted
            ? `The OnlyFans gateway did not confirm the message (${outcome.reason}); it may have been delivered, so it counts against your limit.`
            : `The OnlyFans gateway did not take the message (${outcome.reason}); it was not counted against your limit.`,
          type: 'upstream_error',
          code: 'upstream_error',
        });
    }
  });

  return app;
}
