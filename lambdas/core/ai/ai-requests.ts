/**
 * The AI-request service: the one sequence every AI route runs. Given a validated request and the
 * request's record (which carries the caller), it resolves the task, makes the rollout decision,
 * plans the targets, lets the orchestrator retry and fall back, reads or estimates the usage, and
 * returns an outcome value: an answer, a stream whose end finishes the record, or why it failed.
 * Routes only parse and map; statuses and bodies are decided in `http/`.
 *
 * The seams the next capabilities plug into live here: a health policy consulted by the
 * orchestrator, a response cache in front of it, a cost-aware planner beside the static one.
 */
import { ValidationError } from '../errors';
import type { BackgroundTasks } from '../background';
import type { Clock } from '../ports';
import type { RequestRecord, AiSummary } from '../request-record';
import type { FlagStore } from '../rollout/flag-store';
import { decideRollout, type ProcessingPath } from '../rollout/flags';
import { openAnswerStream, type AnswerStream } from './answer-stream';
import type { Orchestrator, RouteFailure, RouteTrace } from './orchestrator';
import type { ProviderCompletion, TargetHealth, TokenEstimator } from './ports';
import {
  planLegacyRoute,
  planRoute,
  routableModels,
  type LegacyTarget,
  type PlannedTarget,
  type RouteTable,
  type TaskType,
} from './route-table';
import { resolveTask, type TaskResolution } from './task';
import { estimatePromptTokens } from './token-estimate';
import { failureClass } from './orchestrator';

/** How the request names its task: hints a client sent (`/v1/*`), or the endpoint's own task (legacy routes). */
export type TaskInput = { hints: { header: string | undefined; metadataTaskType: unknown; model: string } } | { endpoint: TaskType };

export interface AiRequest {
  /** The OpenAI request body as providers will see it (the gateway's own hints removed). */
  body: Record<string, unknown>;
  task: TaskInput;
  stream: boolean;
  /** Streams: whether the client asked for the final usage chunk (the gateway always asks the provider for it). */
  clientWantsUsage: boolean;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** How the request was routed, for the response headers. */
export interface Routing {
  path: ProcessingPath;
  trace: RouteTrace;
}

export type AiOutcome =
  | { kind: 'invalid'; error: ValidationError }
  /** The request named a concrete model no target can serve (never silently answered by another). */
  | { kind: 'unknown_model'; model: string }
  | { kind: 'failed'; failure: RouteFailure; routing: Routing }
  | { kind: 'answer'; completion: ProviderCompletion; model: string; routing: Routing }
  | { kind: 'stream'; stream: AnswerStream; routing: Routing };

export interface AiRequestDeps {
  orchestrator: Orchestrator;
  routeTable: RouteTable;
  /** The pre-orchestrator path: one provider and model. */
  legacyTarget: LegacyTarget;
  /** Rollout flags (AppConfig on AWS, a file locally). */
  flags: FlagStore;
  clock: Clock;
  /** Counts the tokens of answers cut short before the provider reported usage. */
  tokens: TokenEstimator;
  /** Post-response work; a cut stream's usage is estimated there. */
  background: BackgroundTasks;
  /** Aborted when the process stops: streams in flight end with an error event. */
  shutdown?: AbortSignal;
  /** Provider health: told the tokens each answer used (the fleet's tokens per minute per target). */
  health?: Pick<TargetHealth, 'noteTokens'>;
}

export class AiRequests {
  /** Every model some target can serve (what `GET /v1/models` lists). */
  private readonly models: ReadonlyMap<string, unknown>;

  constructor(private readonly deps: AiRequestDeps) {
    this.models = routableModels(deps.routeTable);
  }

  /** Runs one AI request for the caller in `record` (authenticated before), filling the record's AI part. */
  async run(record: RequestRecord, request: AiRequest): Promise<AiOutcome> {
    let task: TaskResolution;
    try {
      task =
        'endpoint' in request.task
          ? { taskType: request.task.endpoint, source: 'endpoint', requestedModel: undefined }
          : resolveTask(request.task.hints);
    } catch (error) {
      if (error instanceof ValidationError) return { kind: 'invalid', error };
      throw error;
    }
    if (task.requestedModel !== undefined && !this.models.has(task.requestedModel))
      return { kind: 'unknown_model', model: task.requestedModel };
    const path = await this.choosePath(record);
    const targets = this.targetsFor(path, task.taskType, task.requestedModel);
    const requestedModel = 'hints' in request.task ? request.task.hints.model : (targets[0]?.model ?? 'none');
    const ai = startSummary(record, { taskType: task.taskType, taskSource: task.source, requestedModel, stream: request.stream }, targets);
    const { orchestrator } = this.deps;

    if (request.stream) {
      // Always ask for the final usage chunk: quotas and cost need real counts. Clients that did not ask do not see it.
      const body = { ...request.body, stream_options: { ...(request.body['stream_options'] as object | undefined), include_usage: true } };
      const routed = await orchestrator.openStream(targets, body, request.signal);
      noteTrace(ai, routed.trace);
      const routing = { path, trace: routed.trace };
      if (!routed.ok) return this.failed(ai, routed.failure, routing);
      ai.timeToFirstTokenMs = this.deps.clock.now() - record.startedAt;
      this.noteHedge(ai, routed.hedgeLoser, body);
      record.finishWhenStreamEnds();
      const target = routed.target;
      const stream = openAnswerStream(routed.value, {
        record,
        requestBody: body,
        clientWantsUsage: request.clientWantsUsage,
        signal: request.signal,
        tokens: this.deps.tokens,
        background: this.deps.background,
        ...(this.deps.shutdown ? { shutdown: this.deps.shutdown } : {}),
        onUsage: (usage) => this.deps.health?.noteTokens(target, usage.totalTokens),
      });
      return { kind: 'stream', stream, routing };
    }

    const routed = await orchestrator.complete(targets, request.body, request.signal);
    noteTrace(ai, routed.trace);
    const routing = { path, trace: routed.trace };
    if (!routed.ok) return this.failed(ai, routed.failure, routing);
    if (routed.value.usage) {
      ai.usage = routed.value.usage;
      ai.usageSource = 'provider';
      this.deps.health?.noteTokens(routed.target, routed.value.usage.totalTokens);
    }
    this.noteHedge(ai, routed.hedgeLoser, request.body);
    const model = routed.value.model ?? targets.find((t) => t.provider === routed.trace.chosen?.provider)?.model ?? 'unknown';
    return { kind: 'answer', completion: routed.value, model, routing };
  }

  /**
   * A hedge ran: the losing target was cancelled before its first event, so it used no output
   * tokens, but the provider may bill the prompt it received: estimated like a cut stream's.
   */
  private noteHedge(ai: AiSummary, loser: PlannedTarget | undefined, body: Record<string, unknown>): void {
    if (!loser) return;
    ai.hedge = { provider: loser.provider, model: loser.model, inputTokens: estimatePromptTokens(body, this.deps.tokens) };
  }

  /** Decides the caller's processing path from the rollout flag, and notes it in the record. */
  private async choosePath(record: RequestRecord): Promise<ProcessingPath> {
    const snapshot = await this.deps.flags.current();
    const decision = decideRollout(snapshot.values, record.principal?.userId ?? '');
    record.rollout = { path: decision.path, reason: decision.reason, flags: snapshot.origin, stale: snapshot.stale };
    return decision.path;
  }

  /** Orchestrated: the task's targets with retries and fallback. Legacy: one provider and model, one attempt. */
  private targetsFor(path: ProcessingPath, taskType: TaskType, requestedModel: string | undefined): PlannedTarget[] {
    const { routeTable, legacyTarget } = this.deps;
    return path === 'orchestrated'
      ? planRoute(routeTable, taskType, requestedModel)
      : planLegacyRoute(routeTable, legacyTarget, requestedModel);
  }

  private failed(ai: AiSummary, failure: RouteFailure, routing: Routing): AiOutcome {
    ai.outcome = 'error';
    ai.errorClass = failureClass(failure);
    return { kind: 'failed', failure, routing };
  }
}

/** A fresh AI summary for a request about to be routed to `targets`, kept in the record. */
function startSummary(
  record: RequestRecord,
  request: Pick<AiSummary, 'taskType' | 'taskSource' | 'requestedModel' | 'stream'>,
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
  record.ai = ai;
  return ai;
}

/** Puts the routing story into the AI summary. */
function noteTrace(ai: AiSummary, trace: RouteTrace): void {
  ai.chosen = trace.chosen;
  ai.attempts = trace.attempts;
  ai.fallback = trace.fallback;
  ai.retries = trace.attempts.filter((a) => a.outcome === 'retry').length;
}
