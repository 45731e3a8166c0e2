/** Per-request choice between the orchestrated and the legacy processing path, from the rollout flag. */
import type { Context } from 'hono';
import { decideRollout, type ProcessingPath } from '../core/rollout/flags';
import { planLegacyRoute, planRoute, type PlannedTarget, type TaskType } from '../core/ai/route-table';
import type { AppDeps, AppEnv } from './context';

/** Decides the caller's path, says so in `x-orchestrator-path` and in the request's log line. */
export async function choosePath(c: Context<AppEnv>, deps: AppDeps): Promise<ProcessingPath> {
  const snapshot = await deps.flags.current();
  const decision = decideRollout(snapshot.values, c.get('principal').userId);
  c.header('x-orchestrator-path', decision.path);
  c.set('rollout', { path: decision.path, reason: decision.reason, flags: snapshot.origin, stale: snapshot.stale });
  return decision.path;
}

/** Orchestrated: the task's targets with retries and fallback. Legacy: one provider and model, one attempt. */
export function targetsFor(deps: AppDeps, path: ProcessingPath, taskType: TaskType, requestedModel: string | undefined): PlannedTarget[] {
  return path === 'orchestrated' ? planRoute(deps.routeTable, taskType, requestedModel) : planLegacyRoute(deps.routeTable, deps.legacyTarget, requestedModel);
}
