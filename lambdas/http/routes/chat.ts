/**
 * `POST /v1/chat/completions`: validate, resolve the task, plan the targets, let the orchestrator
 * retry and fall back, then answer as OpenAI would (JSON or server-sent events).
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ProviderCallError, ValidationError, openAiError, type OpenAiErrorBody } from '../../core/errors';
import type { FinalFailure, StartedStream } from '../../core/ai/orchestrator';
import type { Usage } from '../../core/ai/ports';
import type { PlannedTarget } from '../../core/ai/route-table';
import { resolveTask } from '../../core/ai/task';
import { usageOf } from '../../core/ai/usage';
import { ChatCompletionRequestSchema, upstreamBody } from '../chat-schema';
import type { AppDeps, AppEnv } from '../context';
import { badRequest, errorResponse } from '../errors';
import { noteTrace, startAiSummary, type AiSummary } from '../ai-summary';
import { finishRequest } from '../request-summary';
import { deltaText, estimatedUsage } from '../../core/ai/token-estimate';
import { choosePath, targetsFor } from '../rollout';
import { parseJsonBody } from '../validation';

/** The orchestrator's failure, answered in OpenAI shape with its status. */
function failureResponse(c: Context<AppEnv>, ai: AiSummary, failure: FinalFailure): Response {
  ai.outcome = 'error';
  ai.errorClass = failure.errorClass;
  return c.json(failure.body, failure.status as ContentfulStatusCode);
}

const encoder = new TextEncoder();
const sse = (data: string) => encoder.encode(`data: ${data}\n\n`);

export function chatRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.post('/v1/chat/completions', async (c) => {
    const parsed = await parseJsonBody(c, ChatCompletionRequestSchema);
    if (!parsed.ok) return errorResponse(c, 400, parsed.error);
    const request = parsed.value;

    let task;
    try {
      task = resolveTask({ header: c.req.header('x-task-type'), metadataTaskType: request.metadata?.['task_type'], model: request.model });
    } catch (error) {
      if (error instanceof ValidationError) return errorResponse(c, 400, badRequest(error.message, error.param, error.code));
      throw error;
    }

    const path = await choosePath(c, deps);
    const targets = targetsFor(deps, path, task.taskType, task.requestedModel);
    const ai = startAiSummary(c, { taskType: task.taskType, taskSource: task.source, requestedModel: request.model, stream: request.stream === true }, targets);
    const body = upstreamBody(request);
    const signal = c.req.raw.signal;

    if (request.stream === true) {
      // Always ask for the final usage chunk: quotas and cost need real counts. Clients that did not ask do not see it.
      const clientWantsUsage = (request.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      const streamBody = { ...body, stream_options: { ...(body['stream_options'] as object | undefined), include_usage: true } };
      return streamCompletion(c, deps, targets, streamBody, signal, ai, clientWantsUsage);
    }

    const routed = await deps.orchestrator.complete(targets, body, signal);
    noteTrace(c, ai, routed.trace);
    if (!routed.ok) return failureResponse(c, ai, routed.failure);
    if (routed.value.usage) {
      ai.usage = routed.value.usage;
      ai.usageSource = 'provider';
    }
    return c.body(routed.value.rawBody, 200, { 'content-type': 'application/json' });
  });

  return app;
}

async function streamCompletion(
  c: Context<AppEnv>,
  deps: AppDeps,
  targets: PlannedTarget[],
  body: Record<string, unknown>,
  signal: AbortSignal,
  ai: AiSummary,
  clientWantsUsage: boolean,
): Promise<Response> {
  const routed = await deps.orchestrator.openStream(targets, body, signal);
  noteTrace(c, ai, routed.trace);
  // Nothing was sent yet: a plain JSON error with the right status is what OpenAI clients expect.
  if (!routed.ok) return failureResponse(c, ai, routed.failure);
  ai.timeToFirstTokenMs = deps.clock.now() - c.get('startedAt');
  c.set('deferSummary', true);
  const stream: StartedStream = routed.value;
  let usage: Usage | undefined = noteUsage(stream.first, undefined);
  let finished = false;

  const finish = async (outcome: AiSummary['outcome'], status: number, errorClass: string | null) => {
    if (finished) return;
    finished = true;
    ai.outcome = outcome;
    ai.errorClass = errorClass;
    if (usage) {
      ai.usage = usage;
      ai.usageSource = 'provider';
      finishRequest(c, deps, status);
      await c.get('settleTokens')?.(usage.totalTokens);
      return;
    }
    // Cut before the usage chunk (client gone, upstream failed): count what was sent and delivered,
    // after the response, since loading the tokenizer the first time takes a moment.
    deps.background.track(
      (async () => {
        const estimate = estimatedUsage(body, delivered, deps.tokens);
        ai.usage = estimate;
        ai.usageSource = 'estimated';
        finishRequest(c, deps, status);
        await c.get('settleTokens')?.(estimate.totalTokens);
      })(),
    );
  };
  let delivered = deltaText(stream.first);
  /** The usage-only chunk the gateway asked for on the client's behalf. */
  const hidden = (data: string) => !clientWantsUsage && data.includes('"usage":{') && /"choices"\s*:\s*\[\s*\]/.test(data);

  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(sse(stream.first));
    },
    async pull(controller) {
      try {
        // Each pull must enqueue something (or close), or the stream stalls: skip hidden chunks in a loop.
        for (;;) {
          const next = await stream.rest.next();
          if (next.done) {
            await finish('ok', 200, null);
            controller.enqueue(encoder.encode('data: [DONE]\n\n'));
            controller.close();
            return;
          }
          usage = noteUsage(next.value, usage);
          if (hidden(next.value)) continue;
          delivered += deltaText(next.value);
          controller.enqueue(sse(next.value));
          return;
        }
      } catch (error) {
        // Headers are gone: the failure reaches the client as an SSE error event, never as a silent end.
        const errorClass = error instanceof ProviderCallError ? error.failure.errorClass : 'protocol_error';
        const failureBody: OpenAiErrorBody =
          error instanceof ProviderCallError && error.failure.body
            ? error.failure.body
            : openAiError(`The provider stream failed (${errorClass}); the answer is incomplete.`, 'api_error', 'stream_interrupted');
        if (signal.aborted) {
          await finish('client_closed', 499, 'aborted');
          controller.close();
          return;
        }
        await finish('stream_error', 200, errorClass);
        controller.enqueue(sse(JSON.stringify(failureBody)));
        controller.close();
      }
    },
    cancel() {
      stream.cancel();
      void finish('client_closed', 499, 'aborted');
    },
  });

  c.header('content-type', 'text/event-stream; charset=utf-8');
  c.header('cache-control', 'no-cache');
  c.header('x-accel-buffering', 'no');
  return c.body(readable, 200);
}

/** Keeps the latest `usage` seen in the stream (the final chunk when `include_usage` is on). */
function noteUsage(data: string, current: Usage | undefined): Usage | undefined {
  if (!data.includes('"usage":{')) return current;
  try {
    return usageOf(JSON.parse(data)) ?? current;
  } catch {
    return current;
  }
}
