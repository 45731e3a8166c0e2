/**
 * The legacy Huntaze AI endpoints, unchanged for their clients (`docs/legacy-api.md`):
 * `POST /api/ai/messages/generate` (task message_generation) and `POST /api/ai/content/plan` (task
 * content_planning). The rollout flag picks the path per request inside the AI-request service;
 * validation, prompts and the response shape are shared by both paths.
 */
import { Hono, type Context } from 'hono';
import type { AiRequests } from '../../core/ai/ai-requests';
import { completionText, fitMessage, legacyUsage } from '../../core/legacy/legacy-api';
import { generateInput, planInput, probeOf, type AiInput } from '../ai-inputs';
import { cacheHeaders, routingHeaders } from '../ai-responses';
import type { AppEnv } from '../context';
import { errorResponse, legacyRouteFailureAnswer, unroutableAnswer } from '../errors';

export interface LegacyAiRouteDeps {
  ai: AiRequests;
}

/** One completion for a legacy endpoint: its text, model and usage, or the error response already made. */
async function generate(c: Context<AppEnv>, ai: AiRequests, input: AiInput) {
  const record = c.var.record;
  const outcome = await ai.run(record, { ...input, signal: c.req.raw.signal, ...probeOf(c) });
  if (outcome.kind === 'unroutable') {
    const { status, spec } = unroutableAnswer(outcome.refusal);
    return { ok: false as const, response: errorResponse(c, status, spec) };
  }
  if (outcome.kind === 'invalid' || outcome.kind === 'stream' || outcome.kind === 'unknown_model')
    throw new Error(`legacy endpoint got a ${outcome.kind} outcome`);
  routingHeaders(c, outcome.routing);
  if (outcome.kind === 'failed') {
    const { status, spec } = legacyRouteFailureAnswer(outcome.failure);
    return { ok: false as const, response: errorResponse(c, status, spec) };
  }
  cacheHeaders(c, outcome.cache);
  if (outcome.kind === 'cached') {
    const raw = JSON.stringify(outcome.entry.completion);
    // The caller is shown the usage of the answer it got (a hit cost nothing, but the answer's size is the same).
    return { ok: true as const, text: completionText(raw) ?? '', model: outcome.entry.model, usage: legacyUsage(outcome.entry.usage) };
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
    const parsed = await generateInput(c);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const result = await generate(c, deps.ai, parsed.value);
    if (!result.ok) return result.response;
    const { text, model, usage } = result;
    return c.json({ message: fitMessage(text, parsed.value.legacy.maxLength), model, requestId: c.var.record.responseRequestId, usage });
  });

  app.post('/api/ai/content/plan', async (c) => {
    const parsed = await planInput(c);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { platforms, periodDays } = parsed.value.legacy;
    const result = await generate(c, deps.ai, parsed.value);
    if (!result.ok) return result.response;
    return c.json({
      plan: result.text,
      platforms,
      periodDays,
      model: result.model,
      requestId: c.var.record.responseRequestId,
      usage: result.usage,
    });
  });

  return app;
}
