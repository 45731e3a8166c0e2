/**
 * The route table: for each task type, an ordered list of provider targets with timeout and retry
 * settings. It is data (config/routes.json, overridable per deployment) validated by this schema.
 */
import * as z from 'zod';
import { ConfigError, formatIssues } from '../errors';

export const TASK_TYPES = ['content_planning', 'message_generation', 'general'] as const;
export type TaskType = (typeof TASK_TYPES)[number];
export const TaskTypeSchema = z.enum(TASK_TYPES);

/**
 * A provider's id (`openai`, `azure-openai`, ...): the provider registry says which exist. Never a
 * name every object has (`constructor`): ids are looked up in plain records of providers.
 */
export const ProviderIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'provider ids are lower-case letters, digits and -')
  .refine((id) => !(id in Object.prototype), 'is a name reserved by JavaScript objects');
export type ProviderId = z.infer<typeof ProviderIdSchema>;

/**
 * Whether a URL carries no credentials and no query (a key there would be stored, logged and shown).
 * zod runs a refinement even after its own URL check failed: a string that is no URL is left to that check.
 */
export function credentialFree(u: string): boolean {
  if (!URL.canParse(u)) return true;
  const url = new URL(u);
  return url.username === '' && url.password === '' && url.search === '';
}

const ms = (max: number) => z.number().int().min(1).max(max);

const TimeoutsSchema = z.strictObject({
  /** TCP/TLS connection establishment. */
  connectMs: ms(60_000),
  /**
   * Until the first event of the answer arrives (headers included), for streamed and non-streamed
   * requests alike (the gateway streams from the provider either way): a hung provider is abandoned here.
   */
  firstByteMs: ms(900_000),
  /** Longest silence between two events of an answer. */
  idleMs: ms(900_000),
  /** The whole call, body or stream included. */
  totalMs: ms(900_000),
});
export type Timeouts = z.infer<typeof TimeoutsSchema>;

/**
 * A target's circuit breaker, shared by every instance. It opens on `consecutiveFailures` failures in
 * a row, or when at least `minimumCalls` calls in the last `windowMs` failed at `failureRate` or more;
 * it stays open `cooldownMs` (multiplied by `cooldownMultiplier` each time it reopens, up to
 * `maxCooldownMs`), then lets exactly one probe through: success closes it, failure reopens it.
 */
const CircuitBreakerSchema = z.strictObject({
  enabled: z.boolean(),
  consecutiveFailures: z.number().int().min(1).max(1000),
  failureRate: z.number().gt(0).max(1),
  minimumCalls: z.number().int().min(1).max(100_000),
  windowMs: ms(300_000),
  cooldownMs: ms(3_600_000),
  cooldownMultiplier: z.number().min(1).max(10),
  maxCooldownMs: ms(86_400_000),
});
export type CircuitBreakerPolicy = z.infer<typeof CircuitBreakerSchema>;

/** Defaults of `defaults.circuitBreaker`; README "Provider health and failover" explains the choice. */
export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerPolicy = {
  enabled: true,
  consecutiveFailures: 5,
  failureRate: 0.5,
  minimumCalls: 10,
  windowMs: 30_000,
  cooldownMs: 30_000,
  cooldownMultiplier: 2,
  maxCooldownMs: 300_000,
};

const RetrySchema = z.strictObject({
  /** Attempts on the same target before falling back (1 = no retry). */
  attempts: z.number().int().min(1).max(10),
  baseDelayMs: z.number().int().min(0).max(60_000),
  maxDelayMs: z.number().int().min(0).max(60_000),
  /** Upper bound for a delay requested by the upstream through `retry-after(-ms)`. */
  maxRetryAfterMs: z.number().int().min(0).max(120_000),
});
export type RetryPolicy = z.infer<typeof RetrySchema>;

const TargetSchema = z.strictObject({
  provider: ProviderIdSchema,
  /** The model used when the request's model is not one this provider serves. */
  model: z.string().min(1),
  timeouts: TimeoutsSchema.partial().optional(),
  retry: RetrySchema.partial().optional(),
  circuitBreaker: CircuitBreakerSchema.partial().optional(),
  /** Start the next target in parallel when this one has sent no first event after this long (opt-in). */
  hedgeAfterMs: ms(900_000).optional(),
  /**
   * `false` for an upstream that cannot stream: non-streamed requests are then sent as such, bounded by
   * `firstByteMs` until the response headers and `totalMs` for the answer (default true: stream upstream).
   */
  upstreamStreaming: z.boolean().optional(),
});

/**
 * Header names an instance may not set: credentials belong in its secret or variable, never in the
 * route table (which is plain text in the function's environment), and the HTTP client owns framing.
 */
const REFUSED_HEADER = /auth|key|token|secret|cookie|session|^host$|^content-length$|^content-type$|^transfer-encoding$/i;

const ProviderCatalogSchema = z.strictObject({
  /**
   * `openai-compatible`: this entry is a provider of its own, an OpenAI-compatible endpoint at
   * `baseURL` (Gemini, Mistral, Groq, Together, vLLM, Ollama...), named by the entry's id. Absent: the
   * entry describes a built-in provider (`openai`, `azure-openai`).
   */
  type: z.literal('openai-compatible').optional(),
  /** The endpoint's base URL, up to `/v1` (`https://api.groq.com/openai/v1`). */
  baseURL: z
    .url({ protocol: /^https?$/ })
    .refine(credentialFree, 'no credentials or query in baseURL: keys go in the key variable or secret')
    .optional(),
  /** Extra headers sent on every call (never credentials). */
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name'), z.string().max(1024))
    .refine((h) => Object.keys(h).length <= 20, 'at most 20 headers')
    .refine(
      (h) => Object.keys(h).every((name) => !REFUSED_HEADER.test(name)),
      'credentials go in the key variable or secret, not in headers (nor host or body framing headers)',
    )
    .optional(),
  /** `false` for an endpoint that takes no key (a local Ollama or vLLM): configured without one. */
  apiKeyRequired: z.boolean().optional(),
  /** The endpoint also serves OpenAI's Responses API (default false). */
  responsesApi: z.boolean().optional(),
  /** Chat models the provider can serve. */
  models: z.array(z.string().min(1)).min(1),
  /** Embedding models the provider can serve (`POST /v1/embeddings`). */
  embeddingModels: z.array(z.string().min(1)).optional(),
  /** Azure OpenAI: deployment name per model, chat or embedding (defaults to the model name). */
  deployments: z.record(z.string(), z.string().min(1)).optional(),
});

export const TIERS = ['fast', 'balanced', 'quality'] as const;
export type Tier = (typeof TIERS)[number];
export const TierSchema = z.enum(TIERS);

const TaskRouteSchema = z.strictObject({
  description: z.string().optional(),
  /** Hedging for every target of the task (a target's own `hedgeAfterMs` wins). */
  hedgeAfterMs: ms(900_000).optional(),
  /** How long the response cache keeps this task's answers (default `RESPONSE_CACHE_TTL_SECONDS`). */
  cacheTtlSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .optional(),
  targets: z.array(TargetSchema).min(1),
  /** The legacy endpoint of this task uses smart routing (as `model: "auto"`, optimising for cost). */
  smart: z.boolean().optional(),
  /**
   * Smart routing (`model: "auto"`): the task's targets grouped by tier, each in preference order.
   * A tier left out falls back to the next one up (fast -> balanced -> quality -> `targets`).
   */
  tiers: z
    .strictObject(
      Object.fromEntries(TIERS.map((t) => [t, z.array(TargetSchema).min(1).optional()])) as Record<
        Tier,
        z.ZodOptional<z.ZodArray<typeof TargetSchema>>
      >,
    )
    .optional(),
});

const PLAN_NAMES = ['free', 'pro', 'enterprise'] as const;

/** How plans bound the tier smart routing picks (the plan list matches `core/access`). */
const SmartRoutingSchema = z.strictObject({
  /** The highest tier a plan may get (free: balanced by default). */
  planCaps: z.partialRecord(z.enum(PLAN_NAMES), TierSchema).default({ free: 'balanced' }),
  /** The lowest tier a plan gets per task (pro and enterprise: quality for content_planning by default). */
  planFloors: z
    .partialRecord(z.enum(TASK_TYPES), z.partialRecord(z.enum(PLAN_NAMES), TierSchema))
    .default({ content_planning: { pro: 'quality', enterprise: 'quality' } }),
  /** Output tokens assumed for a cost estimate when the request sets no `max_tokens`. */
  defaultOutputTokens: z.number().int().min(1).max(1_000_000).default(500),
});
export type SmartRouting = z.infer<typeof SmartRoutingSchema>;

export const RouteTableSchema = z
  .strictObject({
    version: z.literal(1),
    defaults: z.strictObject({
      timeouts: TimeoutsSchema,
      retry: RetrySchema,
      /**
       * Budget of one request across all its attempts and fallbacks; keep it under the Lambda
       * timeout so the caller always gets an answer in OpenAI shape.
       */
      deadlineMs: z.number().int().min(1000).max(870_000).default(240_000),
      circuitBreaker: CircuitBreakerSchema.partial().default({}),
    }),
    providers: z.record(ProviderIdSchema, ProviderCatalogSchema),
    tasks: z.strictObject({
      content_planning: TaskRouteSchema,
      message_generation: TaskRouteSchema,
      general: TaskRouteSchema,
    }),
    smart: SmartRoutingSchema.default({
      planCaps: { free: 'balanced' },
      planFloors: { content_planning: { pro: 'quality', enterprise: 'quality' } },
      defaultOutputTokens: 500,
    }),
  })
  .superRefine((table, ctx) => {
    for (const [id, catalog] of Object.entries(table.providers)) {
      const instanceOnly = (['baseURL', 'headers', 'apiKeyRequired', 'responsesApi'] as const).filter((f) => catalog[f] !== undefined);
      if (catalog.type === 'openai-compatible' && catalog.baseURL === undefined)
        ctx.addIssue({ code: 'custom', path: ['providers', id, 'baseURL'], message: 'an openai-compatible provider needs its baseURL' });
      if (catalog.type === undefined && instanceOnly.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['providers', id, instanceOnly[0]!],
          message: `${instanceOnly.join(', ')} apply to "type": "openai-compatible" entries only`,
        });
    }
    for (const task of TASK_TYPES) {
      const lists: Array<[Array<string | number>, Array<{ provider: string; model: string }>]> = [
        [['tasks', task, 'targets'], table.tasks[task].targets],
        ...TIERS.flatMap((tier): Array<[Array<string | number>, Array<{ provider: string; model: string }>]> => {
          const list = table.tasks[task].tiers?.[tier];
          return list ? [[['tasks', task, 'tiers', tier], list]] : [];
        }),
      ];
      for (const [path, targets] of lists) {
        targets.forEach((target, i) => {
          const catalog = table.providers[target.provider];
          if (!catalog) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, i, 'provider'],
              message: `provider "${target.provider}" has no entry in "providers"`,
            });
          } else if (!catalog.models.includes(target.model)) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, i, 'model'],
              message: `model "${target.model}" is not listed in providers.${target.provider}.models`,
            });
          }
        });
      }
    }
  });
export type RouteTable = z.infer<typeof RouteTableSchema>;
export type ProviderCatalog = z.infer<typeof ProviderCatalogSchema>;

/** A target resolved for one request: which model to ask for, and why. */
export interface PlannedTarget {
  provider: ProviderId;
  /** Public model name (what the response headers report). */
  model: string;
  /** Name sent upstream (Azure deployment or the model). */
  upstreamModel: string;
  modelSource: 'requested' | 'task_default';
  timeouts: Timeouts;
  retry: RetryPolicy;
  circuitBreaker: CircuitBreakerPolicy;
  /** Start the next target in parallel after this long without a first event (hedging), when set. */
  hedgeAfterMs: number | undefined;
  /** Whether non-streamed requests are streamed from the upstream (to detect a hung provider by its first event). */
  upstreamStreaming: boolean;
}

/** What a circuit breaker, health figures and provider limits belong to: a provider and the model (or deployment) it is sent. */
export function targetKey(target: Pick<PlannedTarget, 'provider' | 'upstreamModel'>): string {
  return `${target.provider}/${target.upstreamModel}`;
}

/** The breaker policy of a target: defaults, then the target's own settings. */
function breakerOf(table: RouteTable, target: { circuitBreaker?: Partial<CircuitBreakerPolicy> | undefined }): CircuitBreakerPolicy {
  return { ...DEFAULT_CIRCUIT_BREAKER, ...table.defaults.circuitBreaker, ...target.circuitBreaker };
}

/**
 * Orders the targets for a task and picks each target's model (the requested one when it can serve it).
 * A requested model that no target of the task serves, but a listed provider does (a Bedrock model asked
 * for by name), goes to the providers serving it first, in the order of `providers`, with the task's
 * targets as its fallback: a client that names a model gets that model while it can be had.
 */
export function planRoute(table: RouteTable, taskType: TaskType, requestedModel: string | undefined): PlannedTarget[] {
  const targets = table.tasks[taskType].targets;
  if (requestedModel === undefined || targets.some((t) => table.providers[t.provider]?.models.includes(requestedModel)))
    return planTargets(table, taskType, targets, requestedModel);
  const serving = Object.entries(table.providers)
    .filter(([, catalog]) => catalog.models.includes(requestedModel))
    .map(([provider]) => ({ provider, model: requestedModel }));
  return planTargets(table, taskType, [...serving, ...targets], requestedModel);
}

/** The targets of a tier for a task (a tier left out: the next one up; none at all: the task's targets). */
export function tierTargets(table: RouteTable, taskType: TaskType, tier: Tier): PlannedTarget[] {
  const tiers = table.tasks[taskType].tiers;
  for (const candidate of TIERS.slice(TIERS.indexOf(tier))) {
    const list = tiers?.[candidate];
    if (list) return planTargets(table, taskType, list, undefined);
  }
  return planRoute(table, taskType, undefined);
}

function planTargets(
  table: RouteTable,
  taskType: TaskType,
  targets: RouteTable['tasks'][TaskType]['targets'],
  requestedModel: string | undefined,
): PlannedTarget[] {
  return targets.map((target) => {
    const catalog = table.providers[target.provider];
    const servesRequested = requestedModel !== undefined && catalog?.models.includes(requestedModel) === true;
    const model = servesRequested ? requestedModel : target.model;
    return {
      provider: target.provider,
      model,
      upstreamModel: catalog?.deployments?.[model] ?? model,
      modelSource: servesRequested ? 'requested' : 'task_default',
      timeouts: { ...table.defaults.timeouts, ...target.timeouts },
      retry: { ...table.defaults.retry, ...target.retry },
      circuitBreaker: breakerOf(table, target),
      hedgeAfterMs: target.hedgeAfterMs ?? table.tasks[taskType].hedgeAfterMs,
      upstreamStreaming: target.upstreamStreaming ?? true,
    };
  });
}

/**
 * `compute` of a route table, computed once per table: the table in force is replaced (not changed)
 * when runtime provider configurations change, so a value derived from it is kept per table object.
 */
export function perRouteTable<T>(compute: (table: RouteTable) => T): (table: RouteTable) => T {
  const memo = new WeakMap<RouteTable, T>();
  return (table) => {
    let value = memo.get(table);
    if (value === undefined) memo.set(table, (value = compute(table)));
    return value;
  };
}

/** Every distinct chat model (or, with `embeddings`, embedding model) the table can route to, with the providers serving it. */
export function routableModels(table: RouteTable, kind: 'chat' | 'embeddings' = 'chat'): Map<string, ProviderId[]> {
  const models = new Map<string, ProviderId[]>();
  for (const [provider, catalog] of Object.entries(table.providers)) {
    for (const model of (kind === 'chat' ? catalog.models : catalog.embeddingModels) ?? []) {
      models.set(model, [...(models.get(model) ?? []), provider]);
    }
  }
  return models;
}

/**
 * The targets of an embeddings request: every provider serving that very model, in the order of
 * `providers`. Never another model: vectors of different models are not comparable, so a fallback to
 * one would silently corrupt the caller's index. Embeddings are answered whole (no upstream stream).
 */
export function planEmbeddingRoute(table: RouteTable, model: string): PlannedTarget[] {
  return Object.entries(table.providers)
    .filter(([, catalog]) => catalog.embeddingModels?.includes(model))
    .map(([provider, catalog]) => ({
      provider,
      model,
      upstreamModel: catalog.deployments?.[model] ?? model,
      modelSource: 'requested' as const,
      timeouts: { ...table.defaults.timeouts },
      retry: { ...table.defaults.retry },
      circuitBreaker: breakerOf(table, {}),
      hedgeAfterMs: undefined,
      upstreamStreaming: false,
    }));
}

/** Parses and validates a route table, with an error message naming each bad field. */
export function parseRouteTable(data: unknown, source: string): RouteTable {
  const result = RouteTableSchema.safeParse(data);
  if (!result.success) {
    throw new ConfigError(`invalid route table (${source}): ${formatIssues(result.error)}`);
  }
  return result.data;
}

/** The pre-orchestrator behaviour: one provider and model, one attempt, no fallback. */
export interface LegacyTarget {
  provider: ProviderId;
  model: string;
}

/** The single target of the legacy path; the requested model is kept when the legacy provider serves it. */
export function planLegacyRoute(table: RouteTable, legacy: LegacyTarget, requestedModel: string | undefined): PlannedTarget[] {
  const catalog = table.providers[legacy.provider];
  const servesRequested = requestedModel !== undefined && catalog?.models.includes(requestedModel) === true;
  const model = servesRequested ? requestedModel : legacy.model;
  return [
    {
      provider: legacy.provider,
      model,
      upstreamModel: catalog?.deployments?.[model] ?? model,
      modelSource: servesRequested ? 'requested' : 'task_default',
      timeouts: { ...table.defaults.timeouts },
      retry: { ...table.defaults.retry, attempts: 1 },
      circuitBreaker: breakerOf(table, {}),
      hedgeAfterMs: undefined,
      upstreamStreaming: true,
    },
  ];
}
