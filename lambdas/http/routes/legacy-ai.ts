/**
 * The legacy Huntaze AI endpoints, unchanged for their clients (`docs/legacy-api.md`):
 * `POST /api/ai/messages/generate` (task message_generation) and `POST /api/ai/content/plan` (task
 * content_planning). The rollout flag picks the path per request inside the AI-request service;
 * validation, prompts and the response shape are shared by both paths.
 */
import { Hono, type Context } from 'hono';
import type { AiRequests } from '../../core/ai/ai-requests';
import type { TaskType } from '../../core/ai/route-table';
import {
  completionText,
  ContentPlanSchema,
  fitMessage,
  GenerateMessageSchema,
  legacyUsage,
  messagePrompt,
  planPrompt,
} from '../../core/legacy/legacy-api';
import { routingHeaders } from '../ai-responses';
import type { AppEnv } from '../context';
import { errorResponse, legacyRouteFailureAnswer } from '../errors';
import { parseJsonBody } from '../validation';

export interface LegacyAiRouteDeps {
  ai: AiRequests;
}

/** One completion for a legacy endpoint: its text, model and usage, or the error response already made. */
async function generate(c: Context<AppEnv>, ai: AiRequests, task: TaskType, body: Record<string, unknown>) {
  const record = c.var.record;
  const outcome = await ai.run(record, {
    body,
    task: { endpoint: task },
    stream: false,
    clientWantsUsage: false,
    signal: c.req.raw.signal,
  });
  if (outcome.kind === 'invalid' || outcome.kind === 'stream' || outcome.kind === 'unknown_model')
    throw new Error(`legacy endpoint got a ${outcome.kind} outcome`);
  routingHeaders(c, outcome.routing);
  if (outcome.kind === 'failed') {
    const { status, spec } = legacyRouteFailureAnswer(outcome.failure);
    return { ok: false as const, response: errorResponse(c, status, spec) };
  }
  const text = completionText(outcome.completion.rawBody);
  if (text === undefined || text.trim() === '') {
    record.aiFailed();
    return {
      ok: false as const,
      response: errorResponse(c, 502, { message: 'The AI provider returned no text.', type: 'upstream_error', code: 'upstream_error' }),
    };
  }
  return { ok: true as const, text, model: outcome.model, usage: legacyUsage(outcome.completion.usage) };
}

export function legacyAiRoutes(deps: LegacyAiRouteDeps) {
  const app = new Hono<AppEnv>();

  app.post('/api/ai/messages/generate', async (c) => {
    const parsed = await parseJsonBody(c, GenerateMessageSchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const result = await generate(c, deps.ai, 'message_generation', messagePrompt(parsed.value));
    if (!result.ok) return result.response;
    const { text, model, usage } = result;
    return c.json({ message: fitMessage(text, parsed.value.maxLength), model, requestId: c.var.record.requestId, usage });
  });

  app.post('/api/ai/content/plan', async (c) => {
    const parsed = await parseJsonBody(c, ContentPlanSchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { platforms, periodDays } = parsed.value;
    const result = await generate(c, deps.ai, 'content_planning', planPrompt(parsed.value));
    if (!result.ok) return result.response;
    return c.json({
      plan: result.text,
      platforms,
      periodDays,
      model: result.model,
      requestId: c.var.record.requestId,
      usage: result.usage,
    });
  });

  return app;
}
