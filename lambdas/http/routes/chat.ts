/**
 * `POST /v1/chat/completions` (and `/v1/smart/completions`): parse, run the AI request, and answer as
 * OpenAI would (JSON or server-sent events). `POST /v1/routing/explain`: the routing decision alone.
 */
import { Hono, type Context } from 'hono';
import type { AiRequests } from '../../core/ai/ai-requests';
import { chatInput, probeOf } from '../ai-inputs';
import { caller, type AppEnv } from '../context';
import { badRequest, errorResponse, unroutableAnswer } from '../errors';
import {
  cacheHeaders,
  cachedJson,
  isRefusal,
  jsonAnswer,
  refusalResponse,
  replayResponse,
  routingHeaders,
  sseResponse,
} from '../ai-responses';

export interface ChatRouteDeps {
  ai: AiRequests;
}

export function chatRoutes(deps: ChatRouteDeps) {
  const app = new Hono<AppEnv>();

  const complete = async (c: Context<AppEnv>) => {
    const parsed = await chatInput(c);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const input = parsed.value;
    const outcome = await deps.ai.run(c.var.record, { ...input, signal: c.req.raw.signal, ...probeOf(c) });

    if (isRefusal(outcome)) return refusalResponse(c, outcome);
    routingHeaders(c, outcome.routing);
    if (outcome.kind === 'cached') {
      cacheHeaders(c, outcome.cache);
      return input.stream ? replayResponse(c, outcome.entry, input.clientWantsUsage) : cachedJson(c, outcome.entry);
    }
    cacheHeaders(c, outcome.cache);
    if (outcome.kind === 'stream') return sseResponse(c, outcome.stream);
    return jsonAnswer(c, outcome.completion);
  };
  app.post('/v1/chat/completions', complete);
  // Smart routing's own endpoint: `model` is `auto` (and may be left out).
  app.post('/v1/smart/completions', complete);

  /** What smart routing would do with a chat request, without calling a provider. */
  app.post('/v1/routing/explain', async (c) => {
    const parsed = await chatInput(c);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const outcome = deps.ai.explain(caller(c), c.var.record.responseRequestId, parsed.value);
    if (outcome.kind === 'invalid')
      return errorResponse(c, 400, badRequest(outcome.error.message, outcome.error.param, outcome.error.code));
    if (outcome.kind === 'unroutable') {
      const { status, spec } = unroutableAnswer(outcome.refusal);
      return errorResponse(c, status, spec);
    }
    return c.json(outcome.explanation);
  });

  return app;
}
