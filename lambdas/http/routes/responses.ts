/**
 * `POST /v1/responses`: OpenAI's Responses API through the AI pipeline (authentication, rate limits
 * and quotas, usage and cost, routing, retries, fallback before the first event, breakers). Bodies and
 * events pass through unchanged; stored responses and `previous_response_id` are the provider's state.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import type { AiRequests } from '../../core/ai/ai-requests';
import { isRefusal, jsonAnswer, refusalResponse, routingHeaders, sseResponse } from '../ai-responses';
import { GATEWAY_METADATA_KEYS, metadataSchema, withProviderMetadata } from '../chat-schema';
import type { AppEnv } from '../context';
import { errorResponse } from '../errors';
import { parseJsonBody } from '../validation';

/** What the gateway reads; every other field passes through to the provider, which validates it. */
export const ResponsesRequestSchema = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([z.string().max(1_000_000), z.array(z.unknown()).max(10_000)]).optional(),
  stream: z.boolean().nullish(),
  metadata: metadataSchema(GATEWAY_METADATA_KEYS).nullish(),
  // A background response is billed when it finishes and is read with GET /v1/responses/{id}: neither is proxied.
  background: z.literal(false, 'background responses are not supported by this gateway').nullish(),
});

export function responsesRoutes(deps: { ai: AiRequests }) {
  const app = new Hono<AppEnv>();
  app.post('/v1/responses', async (c) => {
    const parsed = await parseJsonBody(c, ResponsesRequestSchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { metadata, ...rest } = parsed.value;
    const body = withProviderMetadata(rest, metadata);
    const outcome = await deps.ai.respond(c.var.record, {
      body,
      task: { hints: { header: c.req.header('x-task-type'), metadataTaskType: metadata?.['task_type'], model: parsed.value.model } },
      stream: parsed.value.stream === true,
      signal: c.req.raw.signal,
    });
    if (isRefusal(outcome)) return refusalResponse(c, outcome);
    routingHeaders(c, outcome.routing);
    if (outcome.kind === 'stream') return sseResponse(c, outcome.stream, { named: true });
    return jsonAnswer(c, outcome.completion);
  });
  return app;
}
