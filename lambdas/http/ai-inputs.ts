/**
 * The AI routes' requests as the AI-request service takes them, read once per HTTP request: the
 * route uses them, and so does the response-cache lookup that starts beside the admission (before
 * the route runs), so the body is parsed and validated one time.
 */
import type { Context } from 'hono';
import * as z from 'zod';
import type { Principal } from '../core/access/ports';
import type { AiRequest, AiRequests, CacheProbe, CacheRequest } from '../core/ai/ai-requests';
import type { TaskType } from '../core/ai/route-table';
import { ContentPlanSchema, GenerateMessageSchema, messagePrompt, planPrompt } from '../core/legacy/legacy-api';
import { OPTIMIZE_FOR, type SmartOptions } from '../core/ai/smart-routing';
import { ChatCompletionRequestSchema, SmartCompletionRequestSchema, upstreamBody, type ChatCompletionRequest } from './chat-schema';
import type { AppEnv } from './context';
import { badRequest } from './errors';
import { parseJsonBody, validate, type Parsed } from './validation';

/** An AI request without what only the route has (the client's abort signal, the cache probe). */
export type AiInput = Omit<AiRequest, 'signal' | 'probe'>;

const memo = new WeakMap<Request, Promise<Parsed<unknown>>>();

/** `parseJsonBody` once per request: a second call (the route after the cache probe) gets the first result. */
function parsedOnce<S extends z.ZodType>(c: Context, schema: S): Promise<Parsed<z.infer<S>>> {
  let parsed = memo.get(c.req.raw);
  if (!parsed) {
    parsed = parseJsonBody(c, schema);
    memo.set(c.req.raw, parsed);
  }
  return parsed as Promise<Parsed<z.infer<S>>>;
}

const TtlHeaderSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(7 * 86_400);

/**
 * `Cache-Control: no-store` (neither read nor write the cache) or `no-cache` (skip the lookup, store
 * the fresh answer); `x-cache-ttl: <seconds>` for the entry this request stores.
 */
export function cacheRequestOf(c: Context): Parsed<CacheRequest> {
  const directives = (c.req.header('cache-control') ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  const directive = directives.includes('no-store') ? 'no-store' : directives.includes('no-cache') ? 'no-cache' : 'default';
  const ttlHeader = c.req.header('x-cache-ttl');
  if (ttlHeader === undefined) return { ok: true, value: { directive } };
  const ttl = TtlHeaderSchema.safeParse(ttlHeader);
  if (!ttl.success)
    return {
      ok: false,
      error: badRequest('x-cache-ttl must be a whole number of seconds from 1 to 604800.', 'x-cache-ttl', 'invalid_value'),
    };
  return { ok: true, value: { directive, ttlSeconds: ttl.data } };
}

function withCache(c: Context, input: Omit<AiInput, 'cache'>): Parsed<AiInput> {
  const cache = cacheRequestOf(c);
  return cache.ok ? { ok: true, value: { ...input, cache: cache.value } } : cache;
}

const SmartHeadersSchema = z.object({
  'x-optimize-for': z.enum(OPTIMIZE_FOR).optional(),
  'x-max-latency-ms': z.coerce.number().int().min(1).max(900_000).optional(),
  'x-max-cost-usd': z.coerce.number().positive().max(1000).optional(),
});

/**
 * Smart routing's options: body fields (`optimize_for`, `max_latency_ms`, `max_cost_usd`), else their
 * header forms for clients that cannot add body fields. Only with `model: "auto"`.
 */
function smartOptions(c: Context, request: ChatCompletionRequest): Parsed<SmartOptions | undefined> {
  const headers = validate(SmartHeadersSchema, {
    'x-optimize-for': c.req.header('x-optimize-for'),
    'x-max-latency-ms': c.req.header('x-max-latency-ms'),
    'x-max-cost-usd': c.req.header('x-max-cost-usd'),
  });
  if (!headers.ok) return headers;
  const h = headers.value;
  const given =
    request.optimize_for ??
    request.max_latency_ms ??
    request.max_cost_usd ??
    h['x-optimize-for'] ??
    h['x-max-latency-ms'] ??
    h['x-max-cost-usd'];
  if (request.model !== 'auto') {
    if (given === undefined) return { ok: true, value: undefined };
    return {
      ok: false,
      error: badRequest(
        'optimize_for, max_latency_ms and max_cost_usd apply to smart routing only: send model "auto".',
        'model',
        'invalid_value',
      ),
    };
  }
  return {
    ok: true,
    value: {
      optimizeFor: request.optimize_for ?? h['x-optimize-for'] ?? 'cost',
      maxLatencyMs: request.max_latency_ms ?? h['x-max-latency-ms'],
      maxCostUsd: request.max_cost_usd ?? h['x-max-cost-usd'],
    },
  };
}

/** `POST /v1/chat/completions` (and `/v1/smart/completions` and `/v1/routing/explain`, where `model` is always `auto`). */
export async function chatInput(c: Context<AppEnv>): Promise<Parsed<AiInput>> {
  const smartPath = c.req.path === '/v1/smart/completions' || c.req.path === '/v1/routing/explain';
  const parsed = await parsedOnce(c, smartPath ? SmartCompletionRequestSchema : ChatCompletionRequestSchema);
  if (!parsed.ok) return parsed;
  const request = parsed.value;
  const smart = smartOptions(c, request);
  if (!smart.ok) return smart;
  return withCache(c, {
    body: upstreamBody(request),
    task: { hints: { header: c.req.header('x-task-type'), metadataTaskType: request.metadata?.['task_type'], model: request.model } },
    stream: request.stream === true,
    clientWantsUsage: (request.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
    ...(smart.value ? { smart: smart.value } : {}),
  });
}

/** A legacy AI endpoint's input: its fixed task, its prompt, and the parsed request (the route shapes its answer from it). */
async function legacyInput<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
  task: TaskType,
  prompt: (request: z.infer<S>) => Record<string, unknown>,
): Promise<Parsed<AiInput & { legacy: z.infer<S> }>> {
  const parsed = await parsedOnce(c, schema);
  if (!parsed.ok) return parsed;
  const input = withCache(c, { body: prompt(parsed.value), task: { endpoint: task }, stream: false, clientWantsUsage: false });
  return input.ok ? { ok: true, value: { ...input.value, legacy: parsed.value } } : input;
}

/** `POST /api/ai/messages/generate`. */
export const generateInput = (c: Context<AppEnv>) => legacyInput(c, GenerateMessageSchema, 'message_generation', messagePrompt);

/** `POST /api/ai/content/plan`. */
export const planInput = (c: Context<AppEnv>) => legacyInput(c, ContentPlanSchema, 'content_planning', planPrompt);

/** The input of each AI route, by path (what the cache probe reads before the route runs). */
export const AI_INPUTS: Record<string, (c: Context<AppEnv>) => Promise<Parsed<AiInput>>> = {
  '/v1/chat/completions': chatInput,
  '/v1/smart/completions': chatInput,
  '/api/ai/messages/generate': generateInput,
  '/api/ai/content/plan': planInput,
};

/**
 * Starts the response-cache lookup of an AI request as its admission starts, so the two overlap; the
 * route hands the probe to the service (`probeOf`). Nothing happens for a request the cache does not
 * apply to, or an invalid one (the route answers that).
 */
export function cacheProbe(ai: Pick<AiRequests, 'probeCache'>) {
  return (c: Context<AppEnv>, principal: Principal): void => {
    const input = AI_INPUTS[c.req.path];
    if (!input) return;
    const probe = input(c).then((parsed) => (parsed.ok ? ai.probeCache(principal, parsed.value) : undefined));
    // A failed probe is a miss; the route's own parse reports a bad body.
    probe.catch(() => undefined);
    c.set('cacheProbe', probe);
  };
}

/** The probe started for this request, if any. */
export function probeOf(c: Context<AppEnv>): { probe?: Promise<CacheProbe | undefined> } {
  const probe = c.get('cacheProbe');
  return probe ? { probe } : {};
}
