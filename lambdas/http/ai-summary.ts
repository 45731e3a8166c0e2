/** The AI part of a request's log line and its `x-orchestrator-*` headers. */
import type { Context } from 'hono';
import type { RouteTrace } from '../core/ai/orchestrator';
import type { PlannedTarget, TaskType } from '../core/ai/route-table';
import type { TaskSource } from '../core/ai/task';
import type { RequestSummary } from '../core/request-summary';
import type { AppEnv } from './context';

export type AiSummary = NonNullable<RequestSummary['ai']>;

/** Puts the routing story into the log summary and the response headers. */
export function noteTrace(c: Context<AppEnv>, ai: AiSummary, trace: RouteTrace) {
  const sent = trace.attempts.filter((a) => a.outcome !== 'skipped');
  ai.chosen = trace.chosen;
  ai.attempts = trace.attempts;
  ai.fallback = trace.fallback;
  ai.retries = sent.filter((a) => a.outcome === 'retry').length;
  c.header('x-orchestrator-provider', trace.chosen?.provider ?? sent.at(-1)?.provider ?? 'none');
  c.header('x-orchestrator-model', trace.chosen?.model ?? sent.at(-1)?.model ?? 'none');
  c.header('x-orchestrator-fallback', String(trace.fallback));
  c.header('x-orchestrator-attempts', String(sent.length));
}

/** A fresh AI summary for a request about to be routed to `targets`, stored on the context. */
export function startAiSummary(
  c: Context<AppEnv>,
  request: { taskType: TaskType; taskSource: TaskSource; requestedModel: string; stream: boolean },
  targets: PlannedTarget[],
): AiSummary {
  const ai: AiSummary = {
    ...request,
    candidates: targets.map((t) => ({ provider: t.provider, model: t.model, modelSource: t.modelSource })),
    chosen: null,
    attempts: [],
    fallback: false,
    retries: 0,
    outcome: 'ok',
    errorClass: null,
  };
  c.set('ai', ai);
  return ai;
}
