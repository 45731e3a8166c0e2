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
import type { ProviderCompletion, TargetHealth, TargetPerformance, TokenEstimator, Usage } from './ports';
import {
  planEmbeddingRoute,
  planLegacyRoute,
  planRoute,
  perRouteTable,
  routableModels,
  type LegacyTarget,
  type PlannedTarget,
  type RouteTable,
  type TaskType,
} from './route-table';
import {
  cacheKey,
  entryKey,
  isCacheable,
  type CachedAnswer,
  type CacheDirective,
  type CacheStatus,
  type ResponseCache,
} from './response-cache';
import { CompletionAssembler } from './completion-assembler';
import { classifyComplexity, type ComplexityModel } from './complexity';
import { explainSelection, selectRoute, type Selection, type SelectionResult, type SmartOptions } from './smart-routing';
import type { PriceTable } from '../metering/pricing';
import type { Principal } from '../access/ports';
import { rolloutBucket, type FlagValues } from '../rollout/flags';
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
  /** What the client asked of the response cache (`Cache-Control`, `x-cache-ttl`). */
  cache?: CacheRequest;
  /** Smart routing (`model: "auto"`): what to optimise for, and the constraints. */
  smart?: SmartOptions;
  /** The cache lookup started beside the admission (`probeCache`), when the route started one. */
  probe?: Promise<CacheProbe | undefined>;
}

export interface CacheRequest {
  directive: CacheDirective;
  ttlSeconds?: number;
}

/** Where a request's answer is (or would be) cached, and the lookup already under way. */
export interface CacheProbe {
  scope: string;
  key: string;
  lookup: Promise<CachedAnswer | undefined> | undefined;
}

/** The flag that turns the response cache on, per user or percentage (README "Response cache"). */
export const CACHE_FLAG = 'response_caching';

/** Whether `flag` is on for `userId`: enabled, not denied, then allowed or in the percentage (100 when unset). */
export function capabilityOn(values: FlagValues, flag: string, userId: string): boolean {
  const value = values[flag] as { enabled: boolean; rollout_percentage?: unknown; allow_users?: unknown; deny_users?: unknown } | undefined;
  if (!value?.enabled) return false;
  const listed = (list: unknown) => Array.isArray(list) && list.includes(userId);
  if (listed(value.deny_users)) return false;
  if (listed(value.allow_users)) return true;
  const percentage = typeof value.rollout_percentage === 'number' ? value.rollout_percentage : 100;
  return rolloutBucket(flag, userId) < percentage;
}

/** The cache scope of a caller: a shared scope an admin gave the key, else the user's own. */
export function cacheScopeOf(principal: Pick<Principal, 'userId' | 'cacheScope'>): string {
  return principal.cacheScope ? `s:${principal.cacheScope}` : `u:${principal.userId}`;
}

/** How the request was routed, for the response headers. */
export interface Routing {
  path: ProcessingPath;
  trace: RouteTrace;
  /** Smart routing's choice (`x-orchestrator-complexity`, `x-orchestrator-tier`). */
  smart?: { complexity: string; tier: string };
}

export type AiOutcome =
  | { kind: 'invalid'; error: ValidationError }
  /** The request named a concrete model no target can serve (never silently answered by another). */
  | { kind: 'unknown_model'; model: string }
  /** Smart routing found no target meeting the request's constraints (a 400 naming the constraint). */
  | { kind: 'unroutable'; refusal: Extract<SelectionResult, { ok: false }> }
  | { kind: 'failed'; failure: RouteFailure; routing: Routing }
  | { kind: 'answer'; completion: ProviderCompletion; model: string; routing: Routing; cache?: CacheOutcome }
  | { kind: 'stream'; stream: AnswerStream; routing: Routing; cache?: CacheOutcome }
  /** Served from the response cache: no provider was called. */
  | { kind: 'cached'; entry: CachedAnswer; routing: Routing; cache: CacheOutcome };

export type EmbedOutcome = Extract<AiOutcome, { kind: 'unknown_model' | 'failed' | 'answer' }>;
export type RespondOutcome = Extract<AiOutcome, { kind: 'invalid' | 'unknown_model' | 'failed' | 'answer' | 'stream' }>;

/** What the cache did for a request (`x-cache`, `x-cache-age`, `x-cache-key`). */
export interface CacheOutcome {
  status: CacheStatus;
  key: string;
  ageSeconds?: number;
}

export interface AiRequestDeps {
  orchestrator: Orchestrator;
  /** The route table in force (runtime provider configurations applied), read per request. */
  routes: () => RouteTable;
  /** Resolves once the route table is fresh enough (at once when it is; bounded when it is not). */
  routesReady?: () => Promise<void>;
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
  /** The response cache (used for callers the `response_caching` flag covers). */
  cache?: ResponseCache;
  /** Smart routing: the complexity model, prices for estimates, and the targets' recent figures. */
  smart?: { model: ComplexityModel; prices: PriceTable; performance?: TargetPerformance };
  /**
   * `false` when finished AI requests leave no usage record (`AI_METERING=off`): the fields only the
   * records' readers use (the request's digest, its complexity, the output cap) are then not computed.
   */
  usageRecords?: boolean;
}

export class AiRequests {
  /** Per task, a moving average of the output tokens of this instance's answers (cost estimates). */
  private readonly outputAverages = new Map<TaskType, number>();

  /** An answer's usage: the fleet's tokens per minute of its target, and (given a task) the task's output average. */
  private noteUsage(target: PlannedTarget, usage: Usage, taskType: TaskType | undefined): void {
    this.deps.health?.noteTokens(target, usage.totalTokens);
    if (taskType) this.noteOutput(taskType, usage);
  }

  /** A whole answer's usage as the provider reported it, into the request's summary and `noteUsage`. */
  private noteAnswerUsage(ai: AiSummary, target: PlannedTarget, usage: Usage | undefined, taskType: TaskType | undefined): void {
    if (!usage) return;
    ai.usage = usage;
    ai.usageSource = 'provider';
    this.noteUsage(target, usage, taskType);
  }

  /** Adds an answer's output to its task's moving average (the last ~50 answers weigh most). */
  private noteOutput(taskType: TaskType, usage: Usage | undefined): void {
    if (!usage) return;
    const previous = this.outputAverages.get(taskType);
    this.outputAverages.set(
      taskType,
      previous === undefined ? usage.completionTokens : previous + (usage.completionTokens - previous) / 50,
    );
  }

  /** Every chat and embedding model some target can serve, per route table (it changes with runtime provider configurations). */
  private readonly modelLists = perRouteTable((table) => ({
    chat: routableModels(table),
    embeddings: routableModels(table, 'embeddings'),
  }));

  constructor(private readonly deps: AiRequestDeps) {}

  private models(kind: 'chat' | 'embeddings' = 'chat'): ReadonlyMap<string, unknown> {
    return this.modelLists(this.deps.routes())[kind];
  }

  /**
   * Embeddings (`POST /v1/embeddings`): every provider serving the requested model, with retries,
   * fallback and breakers as for chat, never another model. No rollout path applies (the endpoint is
   * new, so there is no legacy behaviour to keep), nor the response cache or smart routing. Counted
   * under the `general` task; the record's route tells embeddings apart.
   */
  async embed(
    record: RequestRecord,
    request: { body: Record<string, unknown>; model: string; signal: AbortSignal },
  ): Promise<EmbedOutcome> {
    await this.deps.routesReady?.();
    if (!this.models('embeddings').has(request.model)) return { kind: 'unknown_model', model: request.model };
    const targets = planEmbeddingRoute(this.deps.routes(), request.model);
    const ai = startSummary(record, { taskType: 'general', taskSource: 'endpoint', requestedModel: request.model, stream: false }, targets);
    const routed = await this.deps.orchestrator.complete(targets, request.body, request.signal, 'embeddings');
    noteTrace(ai, routed.trace);
    const routing: Routing = { path: 'orchestrated', trace: routed.trace };
    if (!routed.ok) return this.failed(ai, routed.failure, routing);
    // Embeddings have no output: they stay out of the task's output average.
    this.noteAnswerUsage(ai, routed.target, routed.value.usage, undefined);
    return { kind: 'answer', completion: routed.value, model: request.model, routing };
  }

  /**
   * Starts the cache lookup for a request before it is admitted, so the two round trips overlap
   * (the admission's write and the lookup's read); `run` then uses it. Undefined when the cache does
   * not apply (off for this caller, the legacy path, `no-cache` / `no-store`, an invalid request).
   */
  async probeCache(principal: Principal, request: Pick<AiRequest, 'body' | 'task' | 'cache' | 'smart'>): Promise<CacheProbe | undefined> {
    const cache = this.deps.cache;
    if (!cache || (request.cache?.directive ?? 'default') !== 'default') return undefined;
    let task: TaskResolution;
    try {
      task = this.resolve(request.task);
    } catch {
      return undefined;
    }
    const values = (await this.deps.flags.current()).values;
    if (decideRollout(values, principal.userId).path !== 'orchestrated' || !capabilityOn(values, CACHE_FLAG, principal.userId))
      return undefined;
    const scope = cacheScopeOf(principal);
    const key = entryKey(cacheKey(task.taskType, request.body), this.cacheVariant(request, task.taskType, principal.plan));
    return { scope, key, lookup: cache.get(scope, key) };
  }

  /**
   * The Responses API (`POST /v1/responses`): the task's targets as for chat (the requested model where
   * a provider serves it), with retries, breakers and fallback until the first event; the body and the
   * events pass through unchanged, and the usage is read from the answer or the final event. No
   * rollout path, cache or smart routing applies (`model: "auto"` is a 400).
   */
  async respond(
    record: RequestRecord,
    request: { body: Record<string, unknown>; task: Extract<TaskInput, { hints: unknown }>; stream: boolean; signal: AbortSignal },
  ): Promise<RespondOutcome> {
    if (request.task.hints.model === 'auto')
      return {
        kind: 'invalid',
        error: new ValidationError('Smart routing (model "auto") is for chat completions only.', 'model', 'invalid_value'),
      };
    const resolved = this.resolveOrInvalid(request.task);
    if ('kind' in resolved) return resolved;
    await this.deps.routesReady?.();
    if (resolved.requestedModel !== undefined && !this.models().has(resolved.requestedModel))
      return { kind: 'unknown_model', model: resolved.requestedModel };
    // Never hedged: a Responses call may store state or run hosted tools, which must not happen twice.
    const targets = planRoute(this.deps.routes(), resolved.taskType, resolved.requestedModel).map((t) => ({
      ...t,
      hedgeAfterMs: undefined,
    }));
    const ai = startSummary(
      record,
      { taskType: resolved.taskType, taskSource: resolved.source, requestedModel: request.task.hints.model, stream: request.stream },
      targets,
    );
    if (request.stream) {
      const routed = await this.deps.orchestrator.openStream(targets, request.body, request.signal, 'responses');
      noteTrace(ai, routed.trace);
      const routing: Routing = { path: 'orchestrated', trace: routed.trace };
      if (!routed.ok) return this.failed(ai, routed.failure, routing);
      ai.timeToFirstTokenMs = this.deps.clock.now() - record.startedAt;
      record.finishWhenStreamEnds();
      const stream = openAnswerStream(routed.value, {
        record,
        requestBody: request.body,
        clientWantsUsage: true,
        signal: request.signal,
        tokens: this.deps.tokens,
        background: this.deps.background,
        format: 'responses',
        ...(this.deps.shutdown ? { shutdown: this.deps.shutdown } : {}),
        onUsage: (usage) => this.noteUsage(routed.target, usage, resolved.taskType),
      });
      return { kind: 'stream', stream, routing };
    }
    const routed = await this.deps.orchestrator.complete(targets, request.body, request.signal, 'responses');
    noteTrace(ai, routed.trace);
    const routing: Routing = { path: 'orchestrated', trace: routed.trace };
    if (!routed.ok) return this.failed(ai, routed.failure, routing);
    this.noteAnswerUsage(ai, routed.target, routed.value.usage, resolved.taskType);
    const model = routed.value.model ?? routed.trace.chosen?.model ?? 'unknown';
    return { kind: 'answer', completion: routed.value, model, routing };
  }

  /** The task, or the client's mistake in naming it (an unknown or conflicting task type). */
  private resolveOrInvalid(task: TaskInput): TaskResolution | { kind: 'invalid'; error: ValidationError } {
    try {
      return this.resolve(task);
    } catch (error) {
      if (error instanceof ValidationError) return { kind: 'invalid', error };
      throw error;
    }
  }

  private resolve(task: TaskInput): TaskResolution {
    if ('endpoint' in task) return { taskType: task.endpoint, source: 'endpoint', requestedModel: undefined };
    const resolved = resolveTask(task.hints);
    // `auto` is not a model: smart routing picks one.
    return resolved.requestedModel === 'auto' ? { ...resolved, requestedModel: undefined } : resolved;
  }

  /**
   * What besides the request decides a smart-routed answer: the options and the caller's plan (they
   * pick the tier, so two callers asking the same with different options or plans get different models).
   */
  private cacheVariant(request: Pick<AiRequest, 'smart' | 'task'>, taskType: TaskType, plan: Principal['plan']): string {
    if (!this.wantsSmart(request, taskType)) return '';
    const options = request.smart ?? { optimizeFor: 'cost' };
    return `auto:${options.optimizeFor}:${options.maxCostUsd ?? ''}:${options.maxLatencyMs ?? ''}:${plan}`;
  }

  /** Smart routing applies to `model: "auto"`, and to a legacy endpoint whose task the route table marks `smart`. */
  private wantsSmart(request: Pick<AiRequest, 'smart' | 'task'>, taskType: TaskType): boolean {
    if (!this.deps.smart) return false;
    return request.smart !== undefined || ('endpoint' in request.task && this.deps.routes().tasks[taskType].smart === true);
  }

  private select(plan: Principal['plan'], taskType: TaskType, request: Pick<AiRequest, 'body' | 'smart'>): SelectionResult {
    const smart = this.deps.smart!;
    return selectRoute({
      table: this.deps.routes(),
      taskType,
      body: request.body,
      plan,
      options: request.smart ?? { optimizeFor: 'cost' },
      model: smart.model,
      prices: smart.prices,
      promptTokens: estimatePromptTokens(request.body, this.deps.tokens),
      recentOutputTokens: this.outputAverages.get(taskType),
      health: smart.performance,
    });
  }

  /**
   * What smart routing would do with a request, without calling a provider (`/v1/routing/explain`):
   * the same selection `run` makes, for the same caller.
   */
  explain(
    principal: Principal,
    requestId: string,
    request: Pick<AiRequest, 'body' | 'task' | 'smart'>,
  ):
    | { kind: 'invalid'; error: ValidationError }
    | { kind: 'unroutable'; refusal: Extract<SelectionResult, { ok: false }> }
    | { kind: 'explained'; explanation: ReturnType<typeof explainSelection> } {
    const resolved = this.resolveOrInvalid(request.task);
    if ('kind' in resolved) return resolved;
    const task = resolved;
    if (!this.deps.smart) return { kind: 'invalid', error: new ValidationError('Smart routing is not configured.', null, 'invalid_value') };
    const selected = this.select(principal.plan, task.taskType, request);
    if (!selected.ok) return { kind: 'unroutable', refusal: selected };
    return { kind: 'explained', explanation: explainSelection(requestId, selected.selection) };
  }

  /** Runs one AI request for the caller in `record` (authenticated before), filling the record's AI part. */
  async run(record: RequestRecord, request: AiRequest): Promise<AiOutcome> {
    const resolved = this.resolveOrInvalid(request.task);
    if ('kind' in resolved) return resolved;
    const task = resolved;
    await this.deps.routesReady?.();
    if (task.requestedModel !== undefined && !this.models().has(task.requestedModel))
      return { kind: 'unknown_model', model: task.requestedModel };
    const { path, flags } = await this.choosePath(record);
    let targets = this.targetsFor(path, task.taskType, task.requestedModel);
    let selection: Selection | undefined;
    let refusal: Extract<SelectionResult, { ok: false }> | undefined;
    if (path === 'orchestrated' && this.wantsSmart(request, task.taskType)) {
      const selected = this.select(record.principal?.plan ?? 'free', task.taskType, request);
      if (selected.ok) {
        selection = selected.selection;
        targets = selection.targets;
      } else refusal = selected; // answered below, unless the cache holds the answer
    }
    const requestedModel = 'hints' in request.task ? request.task.hints.model : (targets[0]?.model ?? 'none');
    const ai = startSummary(record, { taskType: task.taskType, taskSource: task.source, requestedModel, stream: request.stream }, targets);
    if (selection) {
      const quality = selection.candidates.find((c) => c.tier === 'quality');
      ai.smart = {
        tier: selection.tier,
        optimizeFor: selection.options.optimizeFor,
        ...(quality ? { qualityTarget: { provider: quality.target.provider, model: quality.target.model } } : {}),
      };
    }
    const smartRouting = selection ? { smart: { complexity: selection.complexity.complexity, tier: selection.tier } } : {};
    const { orchestrator } = this.deps;
    // What the recommendations read from the records: repeats (the normalised request's digest, which
    // the cache key derives from too), the prompt's complexity, and the output cap asked for. Without
    // records (AI metering off) and without the cache for this caller, none of it is computed (a
    // smart-routed request's complexity, already known, is still logged).
    const recorded = path === 'orchestrated' && this.deps.usageRecords !== false;
    const principal = record.principal;
    const cacheable =
      path === 'orchestrated' &&
      this.deps.cache !== undefined &&
      principal !== undefined &&
      capabilityOn(flags, CACHE_FLAG, principal.userId);
    const digest = recorded || cacheable ? cacheKey(task.taskType, request.body) : undefined;
    if (digest !== undefined && recorded) {
      ai.requestHash = digest.slice(0, 32);
      ai.complexity =
        selection?.complexity.complexity ??
        (this.deps.smart ? classifyComplexity(request.body, task.taskType, this.deps.smart.model).complexity : undefined);
      const cap = Number(request.body['max_completion_tokens'] ?? request.body['max_tokens']);
      if (Number.isInteger(cap) && cap > 0) ai.maxTokens = cap;
    } else if (selection) ai.complexity = selection.complexity.complexity;

    const caching = digest === undefined ? undefined : await this.cachePlan(record, flags, digest, task.taskType, request);
    if (caching?.hit) {
      const { entry } = caching.hit;
      const ageSeconds = Math.max(0, Math.floor((this.deps.clock.now() - entry.createdAt) / 1000));
      ai.chosen = { provider: entry.provider, model: entry.model, reason: 'cache_hit' };
      ai.cache = { status: 'HIT', ageSeconds, ...(entry.usage ? { savedUsage: entry.usage } : {}) };
      const routing = { path, trace: { attempts: [], chosen: ai.chosen, fallback: false }, ...smartRouting };
      return { kind: 'cached', entry, routing, cache: { status: 'HIT', key: caching.key, ageSeconds } };
    }
    if (refusal) {
      // No provider is called: the 400 (or 503) is an edge refusal, not an AI request's outcome.
      record.ai = undefined;
      return { kind: 'unroutable', refusal };
    }
    const cacheOutcome = caching ? { status: caching.status, key: caching.key } : undefined;
    if (caching) ai.cache = { status: caching.status };
    const remember = (completion: Record<string, unknown>, usage: Usage | undefined, target: PlannedTarget) => {
      if (!caching?.store || !isCacheable(completion)) return;
      const now = this.deps.clock.now();
      const ttl = this.deps.cache!.ttlSeconds(request.cache?.ttlSeconds, this.deps.routes().tasks[task.taskType].cacheTtlSeconds);
      this.deps.background.track(
        this.deps.cache!.put({
          scope: caching.scope,
          key: caching.key,
          taskType: task.taskType,
          provider: target.provider,
          model: typeof completion['model'] === 'string' ? completion['model'] : target.model,
          usage,
          completion,
          createdAt: now,
          expiresAt: now + ttl * 1000,
        }),
      );
    };

    if (request.stream) {
      // Always ask for the final usage chunk: quotas and cost need real counts. Clients that did not ask do not see it.
      const body = { ...request.body, stream_options: { ...(request.body['stream_options'] as object | undefined), include_usage: true } };
      const routed = await orchestrator.openStream(targets, body, request.signal);
      noteTrace(ai, routed.trace);
      const routing = { path, trace: routed.trace, ...smartRouting };
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
        onUsage: (usage) => this.noteUsage(target, usage, task.taskType),
        ...(caching?.store
          ? {
              onComplete: (chunks: string[]) => {
                const assembler = new CompletionAssembler();
                try {
                  for (const chunk of chunks) assembler.add(chunk);
                } catch {
                  return; // a chunk that is not JSON: nothing worth replaying
                }
                if (assembler.complete) remember(assembler.result(), ai.usage, target);
              },
            }
          : {}),
      });
      return { kind: 'stream', stream, routing, ...(cacheOutcome ? { cache: cacheOutcome } : {}) };
    }

    const routed = await orchestrator.complete(targets, request.body, request.signal);
    noteTrace(ai, routed.trace);
    const routing = { path, trace: routed.trace, ...smartRouting };
    if (!routed.ok) return this.failed(ai, routed.failure, routing);
    this.noteAnswerUsage(ai, routed.target, routed.value.usage, task.taskType);
    this.noteHedge(ai, routed.hedgeLoser, request.body);
    const model = routed.value.model ?? targets.find((t) => t.provider === routed.trace.chosen?.provider)?.model ?? 'unknown';
    if (caching?.store) {
      try {
        remember(JSON.parse(routed.value.rawBody) as Record<string, unknown>, routed.value.usage, routed.target);
      } catch {
        // Not JSON: the route answers it as it is; nothing to cache.
      }
    }
    return { kind: 'answer', completion: routed.value, model, routing, ...(cacheOutcome ? { cache: cacheOutcome } : {}) };
  }

  /**
   * What the cache does for this request, or undefined when it does not apply (no cache, the flag off
   * for the caller, the legacy path). A lookup the route started beside the admission is used when it
   * is for the same entry; otherwise (a caller of the service without one) it is made here.
   */
  private async cachePlan(
    record: RequestRecord,
    flags: FlagValues,
    digest: string,
    taskType: TaskType,
    request: AiRequest,
  ): Promise<{ scope: string; key: string; status: CacheStatus; store: boolean; hit?: { entry: CachedAnswer } } | undefined> {
    const cache = this.deps.cache;
    const principal = record.principal;
    if (!cache || !principal) return undefined;
    const probe = request.probe ? await request.probe.catch(() => undefined) : undefined;
    if (!capabilityOn(flags, CACHE_FLAG, principal.userId)) return undefined;
    const scope = cacheScopeOf(principal);
    const key = entryKey(digest, this.cacheVariant(request, taskType, principal.plan));
    const directive = request.cache?.directive ?? 'default';
    if (directive === 'no-store') return { scope, key, status: 'BYPASS', store: false };
    if (directive === 'no-cache') return { scope, key, status: 'REFRESH', store: true };
    const lookup = probe && probe.scope === scope && probe.key === key && probe.lookup ? probe.lookup : cache.get(scope, key);
    const entry = await lookup;
    return entry ? { scope, key, status: 'HIT', store: false, hit: { entry } } : { scope, key, status: 'MISS', store: true };
  }

  /**
   * A hedge ran: the losing target was cancelled before its first event, so it used no output
   * tokens, but the provider may bill the prompt it received: estimated like a cut stream's.
   */
  private noteHedge(ai: AiSummary, loser: PlannedTarget | undefined, body: Record<string, unknown>): void {
    if (!loser) return;
    ai.hedge = { provider: loser.provider, model: loser.model, inputTokens: estimatePromptTokens(body, this.deps.tokens) };
  }

  /** Decides the caller's processing path from the rollout flag, notes it in the record, and hands on the flags read. */
  private async choosePath(record: RequestRecord): Promise<{ path: ProcessingPath; flags: FlagValues }> {
    const snapshot = await this.deps.flags.current();
    const decision = decideRollout(snapshot.values, record.principal?.userId ?? '');
    record.rollout = { path: decision.path, reason: decision.reason, flags: snapshot.origin, stale: snapshot.stale };
    return { path: decision.path, flags: snapshot.values };
  }

  /** Orchestrated: the task's targets with retries and fallback. Legacy: one provider and model, one attempt. */
  private targetsFor(path: ProcessingPath, taskType: TaskType, requestedModel: string | undefined): PlannedTarget[] {
    const { legacyTarget } = this.deps;
    const routeTable = this.deps.routes();
    return path === 'orchestrated'
      ? planRoute(routeTable, taskType, requestedModel)
      : planLegacyRoute(routeTable, legacyTarget, requestedModel);
  }

  private failed(ai: AiSummary, failure: RouteFailure, routing: Routing): Extract<AiOutcome, { kind: 'failed' }> {
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
