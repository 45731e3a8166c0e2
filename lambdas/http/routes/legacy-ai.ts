/**
 * The legacy Huntaze AI endpoints, unchanged for their clients: `POST /api/ai/messages/generate`
 * (task message_generation) and `POST /api/ai/content/plan` (task content_planning). The rollout flag
 * picks the path per request; validation, prompts and the response shape are shared by both.
 */
import { Hono, type Context } from 'hono';
import {
  completionText,
  ContentPlanSchema,
  fitMessage,
  GenerateMessageSchema,
  legacyUsage,
  messagePrompt,
  planPrompt,
  type LegacyUsage,
} from '../../core/legacy/legacy-api';
import type { TaskType } from '../../core/ai/route-table';
import { noteTrace, startAiSummary } from '../ai-summary';
import type { AppDeps, AppEnv } from '../context';
import { errorResponse } from '../errors';
import { choosePath, targetsFor } from '../rollout';
import { parseJsonBody } from '../validation';

type Generated = { ok: true; text: string; model: string; usage: LegacyUsage } | { ok: false; response: Response };

/** Runs one completion for a legacy endpoint on the path the flag chose. */
async function generate(c: Context<AppEnv>, deps: AppDeps, taskType: TaskType, body: Record<string, unknown>): Promise<Generated> {
  const path = await choosePath(c, deps);
  const targets = targetsFor(deps, path, taskType, undefined);
  const ai = startAiSummary(c, { taskType, taskSource: 'endpoint', requestedModel: targets[0]?.model ?? 'none', stream: false }, targets);
  const routed = await deps.orchestrator.complete(targets, body, c.req.raw.signal);
  noteTrace(c, ai, routed.trace);
  const upstreamError = (message: string) => {
    ai.outcome = 'error';
    return { ok: false as const, response: errorResponse(c, 502, { message, type: 'upstream_error', code: 'upstream_error' }) };
  };
  if (!routed.ok) {
    ai.errorClass = routed.failure.errorClass;
    return upstreamError(`The AI provider could not answer (${routed.failure.errorClass}). Retry later; quote the requestId when reporting it.`);
  }
  if (routed.value.usage) {
    ai.usage = routed.value.usage;
    ai.usageSource = 'provider';
  }
  const text = completionText(routed.value.rawBody);
  if (text === undefined || text.trim() === '') return upstreamError('The AI provider returned no text.');
  return { ok: true, text, model: routed.value.model ?? targets.find((t) => t.provider === routed.trace.chosen?.provider)?.model ?? 'unknown', usage: legacyUsage(routed.value.usage) };
}

export function legacyAiRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.post('/api/ai/messages/generate', async (c) => {
    const parsed = await parseJsonBody(c, GenerateMessageSchema);
    if (!parsed.ok) return errorResponse(c, 400, parsed.error);
    const result = await generate(c, deps, 'message_generation', messagePrompt(parsed.value));
    if (!result.ok) return result.response;
    return c.json({ message: fitMessage(result.text, parsed.value.maxLength), model: result.model, requestId: c.get('requestId'), usage: result.usage });
  });

  app.post('/api/ai/content/plan', async (c) => {
    const parsed = await parseJsonBody(c, ContentPlanSchema);
    if (!parsed.ok) return errorResponse(c, 400, parsed.error);
    const { platforms, periodDays } = parsed.value;
    const result = await generate(c, deps, 'content_planning', planPrompt(parsed.value));
    if (!result.ok) return result.response;
    return c.json({ plan: result.text, platforms, periodDays, model: result.model, requestId: c.get('requestId'), usage: result.usage });
  });

  return app;
}
