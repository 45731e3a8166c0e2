/**
 * `POST /v1/chat/completions`: parse, run the AI request, and answer as OpenAI would (JSON or
 * server-sent events).
 */
import { Hono } from 'hono';
import type { AiRequests } from '../../core/ai/ai-requests';
import { ChatCompletionRequestSchema, upstreamBody } from '../chat-schema';
import type { AppEnv } from '../context';
import { badRequest, errorResponse, modelNotFound, routeFailureAnswer } from '../errors';
import { routingHeaders, sseResponse } from '../ai-responses';
import { parseJsonBody } from '../validation';

export interface ChatRouteDeps {
  ai: AiRequests;
}

export function chatRoutes(deps: ChatRouteDeps) {
  const app = new Hono<AppEnv>();

  app.post('/v1/chat/completions', async (c) => {
    const parsed = await parseJsonBody(c, ChatCompletionRequestSchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const request = parsed.value;
    const outcome = await deps.ai.run(c.var.record, {
      body: upstreamBody(request),
      task: { hints: { header: c.req.header('x-task-type'), metadataTaskType: request.metadata?.['task_type'], model: request.model } },
      stream: request.stream === true,
      clientWantsUsage: (request.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
      signal: c.req.raw.signal,
    });

    if (outcome.kind === 'invalid')
      return errorResponse(c, 400, badRequest(outcome.error.message, outcome.error.param, outcome.error.code));
    if (outcome.kind === 'unknown_model') return errorResponse(c, 404, modelNotFound(outcome.model));
    routingHeaders(c, outcome.routing);
    if (outcome.kind === 'failed') {
      const { status, spec } = routeFailureAnswer(outcome.failure);
      return errorResponse(c, status, spec);
    }
    if (outcome.kind === 'stream') return sseResponse(c, outcome.stream);
    return c.body(outcome.completion.rawBody, 200, { 'content-type': 'application/json' });
  });

  return app;
}
