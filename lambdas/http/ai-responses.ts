/**
 * What every AI route answers with: the routing headers, the refusals and failures of the AI-request
 * service in OpenAI's error shape, whole answers as JSON, and streams as server-sent events.
 */
import { responsesEventType } from '../core/ai/responses-events';
import type { Context } from 'hono';
import type { AiOutcome, CacheOutcome, Routing } from '../core/ai/ai-requests';
import type { ProviderCompletion } from '../core/ai/ports';
import { badRequest, errorResponse, modelNotFound, routeFailureAnswer, unroutableAnswer } from './errors';
import { DONE } from '../core/ai/answer-stream';
import { replayChunks, type CachedAnswer } from '../core/ai/response-cache';
import type { AnswerStream } from '../core/ai/answer-stream';
import type { AppEnv } from './context';

/** `x-orchestrator-path`, `-provider`, `-model`, `-fallback` and `-attempts` from how the request was routed. */
export function routingHeaders(c: Context<AppEnv>, routing: Routing): void {
  const { trace } = routing;
  const sent = trace.attempts.filter((a) => a.outcome !== 'skipped');
  c.header('x-orchestrator-path', routing.path);
  c.header('x-orchestrator-provider', trace.chosen?.provider ?? sent.at(-1)?.provider ?? 'none');
  c.header('x-orchestrator-model', trace.chosen?.model ?? sent.at(-1)?.model ?? 'none');
  c.header('x-orchestrator-fallback', String(trace.fallback));
  c.header('x-orchestrator-attempts', String(sent.length));
  if (routing.smart) {
    c.header('x-orchestrator-complexity', routing.smart.complexity);
    c.header('x-orchestrator-tier', routing.smart.tier);
  }
}

/** An outcome that is not an answer: an invalid request, a model no target serves, smart-routing constraints no target meets, a failure after fallback. */
export type AiRefusal = Extract<AiOutcome, { kind: 'invalid' | 'unknown_model' | 'unroutable' | 'failed' }>;

export function isRefusal<O extends AiOutcome>(outcome: O): outcome is Extract<O, AiRefusal> {
  return outcome.kind === 'invalid' || outcome.kind === 'unknown_model' || outcome.kind === 'unroutable' || outcome.kind === 'failed';
}

/** A refusal in OpenAI's error shape: 400, 404, the unroutable status, or the failure's (with its routing headers). */
export function refusalResponse(c: Context<AppEnv>, outcome: AiRefusal): Response {
  switch (outcome.kind) {
    case 'invalid':
      return errorResponse(c, 400, badRequest(outcome.error.message, outcome.error.param, outcome.error.code));
    case 'unknown_model':
      return errorResponse(c, 404, modelNotFound(outcome.model));
    case 'unroutable': {
      const { status, spec } = unroutableAnswer(outcome.refusal);
      return errorResponse(c, status, spec);
    }
    case 'failed': {
      routingHeaders(c, outcome.routing);
      const { status, spec } = routeFailureAnswer(outcome.failure);
      return errorResponse(c, status, spec);
    }
  }
}

/** A provider's whole answer, sent on unchanged. */
export function jsonAnswer(c: Context<AppEnv>, completion: ProviderCompletion): Response {
  return c.body(completion.rawBody, 200, { 'content-type': 'application/json' });
}

const encoder = new TextEncoder();

function eventName(data: string): string {
  const type = responsesEventType(data);
  return type !== undefined && /^[a-z0-9_.]+$/.test(type) ? type : 'message';
}

/** The stream as `data: ...\n\n` events; the client leaving cancels it (and the upstream call). */
export function sseResponse(c: Context<AppEnv>, stream: AnswerStream, options: { named?: boolean } = {}): Response {
  const events = stream[Symbol.asyncIterator]();
  // Responses API streams name each event (`event: response.output_text.delta`) after its `type`. An
  // upstream's event may span several `data:` lines (read back joined by newlines): each keeps its prefix.
  const lines = (data: string) => (data.includes('\n') ? data.replaceAll('\n', '\ndata: ') : data);
  const frame = options.named
    ? (data: string) => `event: ${eventName(data)}\ndata: ${lines(data)}\n\n`
    : (data: string) => `data: ${lines(data)}\n\n`;
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await events.next();
      if (next.done) {
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(frame(next.value)));
    },
    cancel() {
      stream.cancel();
    },
  });
  c.header('content-type', 'text/event-stream; charset=utf-8');
  c.header('cache-control', 'no-cache');
  c.header('x-accel-buffering', 'no');
  return c.body(readable, 200);
}

/** `x-cache` (HIT, MISS, BYPASS, REFRESH), `x-cache-age` in seconds on a hit, `x-cache-key` (to purge the entry). */
export function cacheHeaders(c: Context<AppEnv>, cache: CacheOutcome | undefined): void {
  if (!cache) return;
  c.header('x-cache', cache.status);
  c.header('x-cache-key', cache.key);
  if (cache.ageSeconds !== undefined) c.header('x-cache-age', String(cache.ageSeconds));
}

/** A cached answer replayed as the stream its request asked for: OpenAI chunks, then `[DONE]`. */
export function replayResponse(c: Context<AppEnv>, entry: CachedAnswer, includeUsage: boolean): Response {
  const events = [...replayChunks(entry.completion, { includeUsage, usage: entry.completion['usage'] }), DONE];
  c.header('content-type', 'text/event-stream; charset=utf-8');
  c.header('cache-control', 'no-cache');
  return c.body(events.map((e) => `data: ${e}\n\n`).join(''), 200);
}

/** A cached answer for a non-streamed request: the stored `chat.completion`, usage as it was when made. */
export function cachedJson(c: Context<AppEnv>, entry: CachedAnswer): Response {
  return c.body(JSON.stringify(entry.completion), 200, { 'content-type': 'application/json' });
}
