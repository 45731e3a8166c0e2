/**
 * `POST /v1/chat/completions`: parse, run the AI request, and answer as OpenAI would (JSON or
 * server-sent events).
 */
import { Hono } from 'hono';
import type { AiRequests } from '../../core/ai/ai-requests';
import { chatInput, probeOf } from '../ai-inputs';
import type { AppEnv } from '../context';
import { badRequest, errorResponse, modelNotFound, routeFailureAnswer } from '../errors';
import { cacheHeaders, cachedJson, replayResponse, routingHeaders, sseResponse } from '../ai-responses';

export interface ChatRouteDeps {
  ai: AiRequests;
}

export function chatRoutes(deps: ChatRouteDeps) {
  const app = new Hono<AppEnv>();

  app.post('/v1/chat/completions', async (c) => {
    const parsed = await chatInput(c);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const input = parsed.value;
    const outcome = await deps.ai.run(c.var.record, { ...input, signal: c.req.raw.signal, ...probeOf(c) });

    if (outcome.kind === 'invalid')
      return errorResponse(c, 400, badRequest(outcome.error.message, outcome.error.param, outcome.error.code));
    if (outcome.kind === 'unknown_model') return errorResponse(c, 404, modelNotFound(outcome.model));
    routingHeaders(c, outcome.routing);
    if (outcome.kind === 'cached') {
      cacheHeaders(c, outcome.cache);
      return input.stream ? replayResponse(c, outcome.entry, input.clientWantsUsage) : cachedJson(c, outcome.entry);
    }
    if (outcome.kind === 'failed') {
      const { status, spec } = routeFailureAnswer(outcome.failure);
      return errorResponse(c, status, spec);
    }
    cacheHeaders(c, outcome.cache);
    if (outcome.kind === 'stream') return sseResponse(c, outcome.stream);
    return c.body(outcome.completion.rawBody, 200, { 'content-type': 'application/json' });
  });

  return app;
}
