/**
 * `POST /v1/embeddings`: OpenAI's request and response shape, through the same pipeline as chat
 * (authentication, rate limits and quotas, usage and cost, routing, retries, fallback, breakers).
 */
import { Hono } from 'hono';
import * as z from 'zod';
import type { AiRequests } from '../../core/ai/ai-requests';
import type { AppEnv } from '../context';
import { isRefusal, jsonAnswer, refusalResponse, routingHeaders } from '../ai-responses';
import { errorResponse } from '../errors';
import { parseJsonBody } from '../validation';

/** OpenAI's limits: 2,048 inputs per request, 8,192 tokens per input (about 32 KB of text; tokens as ids). */
const MAX_INPUTS = 2048;
const MAX_INPUT_CHARS = 50_000;
const MAX_INPUT_TOKENS = 8192;

const TokenIds = z.array(z.number().int().min(0).max(10_000_000)).min(1).max(MAX_INPUT_TOKENS);
const Text = z.string().min(1, 'an input must not be empty').max(MAX_INPUT_CHARS);

export const EmbeddingRequestSchema = z.strictObject({
  model: z.string().min(1).max(256),
  input: z.union([Text, z.array(Text).min(1).max(MAX_INPUTS), TokenIds, z.array(TokenIds).min(1).max(MAX_INPUTS)]),
  // OpenAI's default is float. It is always sent upstream, so no SDK in between switches to base64.
  encoding_format: z.enum(['float', 'base64']).default('float'),
  dimensions: z.number().int().min(1).max(8192).optional(),
  user: z.string().max(256).optional(),
});

export function embeddingRoutes(deps: { ai: AiRequests }) {
  const app = new Hono<AppEnv>();
  app.post('/v1/embeddings', async (c) => {
    const parsed = await parseJsonBody(c, EmbeddingRequestSchema);
    if (!parsed.ok) return errorResponse(c, parsed.status ?? 400, parsed.error);
    const { model, ...rest } = parsed.value;
    const outcome = await deps.ai.embed(c.var.record, { body: rest, model, signal: c.req.raw.signal });
    if (isRefusal(outcome)) return refusalResponse(c, outcome);
    routingHeaders(c, outcome.routing);
    return jsonAnswer(c, outcome.completion);
  });
  return app;
}
