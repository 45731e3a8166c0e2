/**
 * The one configuration module: every setting the gateway reads comes from the environment,
 * parsed once with zod, failing fast with the variable's name. README.md documents each variable.
 * `AppConfig` is the schema's output type, never written twice; each provider module adds its own
 * variables (see `adapters/providers/registry.ts`).
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import defaultRoutes from '../../config/routes.json';
import defaultPrices from '../../config/prices.json';
import defaultComplexity from '../../config/complexity.json';
import { ComplexityModelSchema, type ComplexityModel } from '../core/ai/complexity';
import type { RegisteredProvider } from '../adapters/providers/provider-module';
import { providersOf } from '../adapters/providers/registry';
import { parseRouteTable, ProviderIdSchema, type RouteTable } from '../core/ai/route-table';
import { ConfigError, formatIssues } from '../core/errors';
import type { BudgetConfig } from '../core/metering/alerts';
import { parsePriceTable } from '../core/metering/pricing';
import { parsePolicies } from '../core/rate-limit/policies';
import { parseFlagDocument, SAFE_DEFAULT_FLAGS } from '../core/rollout/flags';
import { envBool as bool, envInt as int, envString as optionalString, envUrl } from '../adapters/environment/env-schemas';

export type Runtime = 'aws' | 'local';

const EnvSchema = z.object({
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
  SERVICE_NAME: z.string().min(1).default('hybrid-orchestrator'),
  METRICS_NAMESPACE: z.string().min(1).default('HybridOrchestrator'),
  METRICS_ENABLED: bool.optional(),
  MAX_BODY_BYTES: int(1024, 10 * 1024 * 1024).default(1024 * 1024),
  ROUTES_FILE: optionalString,
  ROUTES_JSON: optionalString,
  /** The same, gzipped and base64-encoded: how the stack passes it (a Lambda's variables share 4 KB). */
  ROUTES_JSON_GZ: optionalString,
  API_KEY_CACHE_TTL_SECONDS: int(0, 60).default(30),
  API_KEYS_TABLE: z.string().min(3).default('hybrid-orchestrator-api-keys'),
  RATE_LIMITS_TABLE: z.string().min(3).default('hybrid-orchestrator-rate-limits'),
  RATE_LIMIT_POLICIES: optionalString,
  RATE_LIMIT_FAIL_MODE: z.enum(['closed', 'open']).default('closed'),
  /** `off`: AI requests pass without per-user limits or usage records (OnlyFans messages keep both). */
  AI_METERING: z.enum(['on', 'off']).default('on'),
  ONLYFANS_GATEWAY_URL: envUrl,
  ONLYFANS_GATEWAY_TIMEOUT_MS: int(100, 60_000).default(10_000),
  IDEMPOTENCY_TTL_HOURS: int(1, 24 * 30).default(24),
  FLAGS_FILE: optionalString,
  FLAGS_REFRESH_SECONDS: int(1, 45).optional(),
  FLAGS_DEFAULTS_JSON: optionalString,
  APPCONFIG_APPLICATION_ID: optionalString,
  APPCONFIG_ENVIRONMENT_ID: optionalString,
  APPCONFIG_PROFILE_ID: optionalString,
  USAGE_TABLE: z.string().min(3).default('hybrid-orchestrator-usage'),
  USAGE_AGGREGATES_TABLE: z.string().min(3).default('hybrid-orchestrator-usage-aggregates'),
  USAGE_RETENTION_DAYS: int(1, 3650).default(90),
  PROVIDER_HEALTH_TABLE: z.string().min(3).default('hybrid-orchestrator-provider-health'),
  HEALTH_REFRESH_MS: int(100, 60_000).default(1000),
  RESPONSE_CACHE_TABLE: z.string().min(3).default('hybrid-orchestrator-response-cache'),
  RESPONSE_CACHE_TTL_SECONDS: int(1, 7 * 86_400).default(86_400),
  RESPONSE_CACHE_MEMORY_MB: int(0, 1024).default(32),
  HEALTH_FLUSH_MS: int(10, 60_000).default(1000),
  HEARTBEAT_INTERVAL_SECONDS: int(0, 3600).default(60),
  AGGREGATE_SHARDS: int(1, 100).default(1),
  /** Who applies records to the aggregates: this process in batches, or (AWS) a consumer of the usage table's stream. */
  USAGE_AGGREGATION: z.enum(['in-process', 'stream']).default('in-process'),
  AGGREGATION_BATCH_MS: int(0, 60_000).default(500),
  USAGE_SPILL_QUEUE_URL: envUrl,
  USAGE_SPILL_FILE: optionalString,
  PRICES_FILE: optionalString,
  COMPLEXITY_MODEL_FILE: optionalString,
  PRICES_JSON: optionalString,
  BUDGET_DAILY_USD: z.coerce.number().positive().optional(),
  BUDGET_MONTHLY_USD: z.coerce.number().positive().optional(),
  BUDGET_USER_DAILY_USD: z.coerce.number().positive().optional(),
  BUDGET_USER_MONTHLY_USD: z.coerce.number().positive().optional(),
  BUDGET_ALERT_LEVELS: z
    .string()
    .default('50,80,100')
    .transform((v) => v.split(',').map((x) => Number(x.trim())))
    .pipe(z.array(z.number().int().min(1).max(1000)).min(1)),
  ALERTS_TOPIC_ARN: optionalString,
  ALERTS_FILE: optionalString,
  CRITICAL_ALERT_COOLDOWN_MINUTES: int(1, 24 * 60).default(5),
  // Checked against the providers once the route table is read (it may name OpenAI-compatible ones).
  LEGACY_PROVIDER: ProviderIdSchema.default('openai'),
  LEGACY_MODEL: z.string().min(1).max(128).default('gpt-4o-mini'),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  DYNAMODB_ENDPOINT: envUrl,
  DYNAMODB_TIMEOUT_MS: int(100, 30_000).default(3000),
  SECRETS_CACHE_TTL_SECONDS: int(0, 3600).default(300),
  /** AWS: the name prefix of runtime providers' key secrets (the stack sets it and grants only it). */
  RUNTIME_PROVIDER_SECRET_PREFIX: optionalString,
  /** How often each instance reads the runtime provider configurations (a change reaches every instance within this plus a request). */
  PROVIDER_CONFIG_REFRESH_SECONDS: int(1, 30).default(10),
  // Local runner only.
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(3000),
  DATA_DIR: optionalString,
  LOCAL_API_KEY: z.string().min(8).default('sk-local-user-key'),
  LOCAL_ADMIN_KEY: z.string().min(8).default('sk-local-admin-key'),
  SIM_FAIL: optionalString,
  SIM_LATENCY_MS: int(0, 600_000).default(0),
  SIM_CHUNK_DELAY_MS: int(0, 60_000).default(20),
});

/** Every provider's variables: its credentials for local runs and its secret's id on AWS. */
function providerEnvSchema(providers: readonly RegisteredProvider[]) {
  return z.object(
    Object.fromEntries(
      providers.flatMap((p) => [...Object.entries(p.environment.variables), ...(p.aws ? [[p.aws.secretIdVariable, optionalString]] : [])]),
    ),
  );
}

/** The providers' variables, read once the route table says which providers exist. */
function readProviderEnv(providers: readonly RegisteredProvider[], source: Record<string, unknown>): Record<string, unknown> {
  const parsed = providerEnvSchema(providers).safeParse(source);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

type Env = z.infer<typeof EnvSchema>;

/** Reads a configuration document; a failure names the variable and keeps its cause. */
function readDocument<T>(variable: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${variable}: ${(error as Error).message}`, { cause: error });
  }
}

function gunzipText(base64: string, variable: string): string {
  try {
    return gunzipSync(Buffer.from(base64, 'base64')).toString('utf8');
  } catch (error) {
    throw new ConfigError(`${variable}: not gzipped base64 (${(error as Error).message})`, { cause: error });
  }
}

function parseJson(text: string, variable: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${variable}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

function readFile(path: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${path} (${(error as Error).message})`, { cause: error });
  }
}

function loadRouteTable(env: Env): RouteTable {
  const table = env.ROUTES_JSON_GZ
    ? parseRouteTable(parseJson(gunzipText(env.ROUTES_JSON_GZ, 'ROUTES_JSON_GZ'), 'ROUTES_JSON_GZ'), 'ROUTES_JSON_GZ')
    : env.ROUTES_JSON
      ? parseRouteTable(parseJson(env.ROUTES_JSON, 'ROUTES_JSON'), 'ROUTES_JSON')
      : env.ROUTES_FILE
        ? parseRouteTable(parseJson(readFile(env.ROUTES_FILE, 'ROUTES_FILE'), 'ROUTES_FILE'), `ROUTES_FILE ${env.ROUTES_FILE}`)
        : parseRouteTable(defaultRoutes, 'config/routes.json');
  // Unknown, reserved or colliding provider entries are refused by providersOf (at synth too).
  if (!providersOf(table).some((p) => p.id === env.LEGACY_PROVIDER))
    throw new ConfigError(
      `LEGACY_PROVIDER: not a provider of the route table (${providersOf(table)
        .map((p) => p.id)
        .join(', ')})`,
    );
  return table;
}

function loadPrices(env: Env) {
  if (env.PRICES_JSON) return parsePriceTable(parseJson(env.PRICES_JSON, 'PRICES_JSON'), 'PRICES_JSON');
  if (env.PRICES_FILE)
    return parsePriceTable(parseJson(readFile(env.PRICES_FILE, 'PRICES_FILE'), 'PRICES_FILE'), `PRICES_FILE ${env.PRICES_FILE}`);
  return parsePriceTable(defaultPrices, 'config/prices.json');
}

/** The prompt-complexity model of smart routing: `COMPLEXITY_MODEL_FILE`, else config/complexity.json. */
function loadComplexityModel(env: Env): ComplexityModel {
  const source = env.COMPLEXITY_MODEL_FILE;
  const document = source ? parseJson(readFile(source, 'COMPLEXITY_MODEL_FILE'), 'COMPLEXITY_MODEL_FILE') : defaultComplexity;
  const parsed = ComplexityModelSchema.safeParse(document);
  if (!parsed.success)
    throw new ConfigError(`invalid complexity model (${source ?? 'config/complexity.json'}): ${formatIssues(parsed.error)}`);
  return parsed.data;
}

function appConfig(runtime: Runtime, env: Env, source: Record<string, unknown>) {
  const routeTable = readDocument('ROUTES_JSON', () => loadRouteTable(env));
  const providers = providersOf(routeTable);
  const providerEnv = readProviderEnv(providers, source);
  const appConfigIds = [env.APPCONFIG_APPLICATION_ID, env.APPCONFIG_ENVIRONMENT_ID, env.APPCONFIG_PROFILE_ID];
  if (appConfigIds.some((v) => v !== undefined) && appConfigIds.some((v) => v === undefined)) {
    throw new ConfigError('APPCONFIG_APPLICATION_ID, APPCONFIG_ENVIRONMENT_ID and APPCONFIG_PROFILE_ID must be set together');
  }
  const budgets: BudgetConfig = {
    dailyUsd: env.BUDGET_DAILY_USD,
    monthlyUsd: env.BUDGET_MONTHLY_USD,
    userDailyUsd: env.BUDGET_USER_DAILY_USD,
    userMonthlyUsd: env.BUDGET_USER_MONTHLY_USD,
    levels: [...new Set(env.BUDGET_ALERT_LEVELS)].sort((a, b) => a - b),
  };
  return {
    runtime,
    logLevel: env.LOG_LEVEL,
    serviceName: env.SERVICE_NAME,
    metricsNamespace: env.METRICS_NAMESPACE,
    metricsEnabled: env.METRICS_ENABLED ?? runtime === 'aws',
    maxBodyBytes: env.MAX_BODY_BYTES,
    routeTable,
    apiKeyCacheTtlMs: env.API_KEY_CACHE_TTL_SECONDS * 1000,
    tables: { apiKeys: env.API_KEYS_TABLE, rateLimits: env.RATE_LIMITS_TABLE },
    rateLimits: {
      policies: readDocument('RATE_LIMIT_POLICIES', () =>
        parsePolicies(env.RATE_LIMIT_POLICIES === undefined ? {} : parseJson(env.RATE_LIMIT_POLICIES, 'RATE_LIMIT_POLICIES')),
      ),
      failMode: env.RATE_LIMIT_FAIL_MODE,
    },
    /**
     * Whether AI requests are admitted against the caller's limits and token quota and leave a usage
     * record. Off, they make no limiter or usage write: the stateless path, for a gateway whose callers
     * are trusted and whose spend is watched elsewhere (the log line still carries each request's tokens;
     * no cost is computed, and no token or cost metric is emitted).
     */
    aiMetering: env.AI_METERING === 'on',
    onlyfans: {
      gatewayUrl: env.ONLYFANS_GATEWAY_URL,
      timeoutMs: env.ONLYFANS_GATEWAY_TIMEOUT_MS,
      idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_HOURS * 3600,
    },
    flags: {
      /** Local flags file (used when no AppConfig ids are set). */
      file: env.FLAGS_FILE ?? join(__dirname, '..', '..', 'config', 'flags.local.json'),
      appConfig:
        env.APPCONFIG_APPLICATION_ID && env.APPCONFIG_ENVIRONMENT_ID && env.APPCONFIG_PROFILE_ID
          ? { application: env.APPCONFIG_APPLICATION_ID, environment: env.APPCONFIG_ENVIRONMENT_ID, profile: env.APPCONFIG_PROFILE_ID }
          : undefined,
      refreshMs: (env.FLAGS_REFRESH_SECONDS ?? (runtime === 'aws' ? 45 : 2)) * 1000,
      /** What applies before any flags were loaded: the legacy path unless configured otherwise. */
      defaults:
        env.FLAGS_DEFAULTS_JSON === undefined
          ? SAFE_DEFAULT_FLAGS
          : readDocument('FLAGS_DEFAULTS_JSON', () => parseFlagDocument(parseJson(env.FLAGS_DEFAULTS_JSON!, 'FLAGS_DEFAULTS_JSON'))),
    },
    /** The pre-orchestrator path: one provider and model. */
    legacy: { provider: env.LEGACY_PROVIDER, model: env.LEGACY_MODEL },
    usage: {
      recordsTable: env.USAGE_TABLE,
      aggregatesTable: env.USAGE_AGGREGATES_TABLE,
      retentionSeconds: env.USAGE_RETENTION_DAYS * 86_400,
      prices: readDocument('PRICES_JSON', () => loadPrices(env)),
      aggregateShards: env.AGGREGATE_SHARDS,
      aggregation: { mode: env.USAGE_AGGREGATION, batchMs: env.AGGREGATION_BATCH_MS, maxBatch: 100 },
      /** Where records wait while the usage table is unavailable: an SQS queue on AWS, a file locally. */
      spill: { queueUrl: env.USAGE_SPILL_QUEUE_URL, file: env.USAGE_SPILL_FILE ?? join(env.DATA_DIR ?? '.local', 'usage-spill.jsonl') },
    },
    alerts: {
      /** SNS topic on AWS; locally alerts go to stdout and `file`. */
      topicArn: env.ALERTS_TOPIC_ARN,
      file: env.ALERTS_FILE ?? join(env.DATA_DIR ?? '.local', 'alerts.jsonl'),
      criticalCooldownMs: env.CRITICAL_ALERT_COOLDOWN_MINUTES * 60_000,
      budgets,
    },
    /** Smart routing's prompt-complexity model. */
    complexityModel: readDocument('COMPLEXITY_MODEL_FILE', () => loadComplexityModel(env)),
    /** The response cache (on when the `response_caching` flag says so for the caller). */
    cache: {
      table: env.RESPONSE_CACHE_TABLE,
      defaultTtlSeconds: env.RESPONSE_CACHE_TTL_SECONDS,
      memoryBytes: env.RESPONSE_CACHE_MEMORY_MB * 1024 * 1024,
    },
    aws: { region: env.AWS_REGION, dynamodbEndpoint: env.DYNAMODB_ENDPOINT, dynamodbTimeoutMs: env.DYNAMODB_TIMEOUT_MS },
    health: {
      table: env.PROVIDER_HEALTH_TABLE,
      /** How often each instance reads the fleet's breaker states. */
      refreshMs: env.HEALTH_REFRESH_MS,
      /** Successes are written at most this often per target and instance (failures at once). */
      flushMs: env.HEALTH_FLUSH_MS,
      /** Local runs: heartbeats on a timer (0: off). On AWS an EventBridge schedule runs them every minute. */
      heartbeatIntervalMs: env.HEARTBEAT_INTERVAL_SECONDS * 1000,
    },
    providers: {
      /** Credential documents from the environment, per provider (absent: not set up here). */
      environment: Object.fromEntries(
        providers.flatMap((p) => {
          const credentials = p.environment.credentials(providerEnv);
          return credentials === undefined ? [] : [[p.id, credentials]];
        }),
      ) as Record<string, unknown>,
      /** Secrets Manager secret id per provider (AWS). */
      secretIds: Object.fromEntries(
        providers.flatMap((p) =>
          p.aws && providerEnv[p.aws.secretIdVariable] ? [[p.id, providerEnv[p.aws.secretIdVariable] as string]] : [],
        ),
      ) as Record<string, string>,
      secretsCacheTtlMs: env.SECRETS_CACHE_TTL_SECONDS * 1000,
      /** Runtime provider configurations (`/admin/providers`): refresh period and, on AWS, the key secrets' prefix. */
      runtime: { refreshMs: env.PROVIDER_CONFIG_REFRESH_SECONDS * 1000, secretPrefix: env.RUNTIME_PROVIDER_SECRET_PREFIX },
    },
    local: {
      host: env.HOST,
      port: env.PORT,
      dataDir: env.DATA_DIR,
      userKey: env.LOCAL_API_KEY,
      adminKey: env.LOCAL_ADMIN_KEY,
      simFail: env.SIM_FAIL,
      simLatencyMs: env.SIM_LATENCY_MS,
      simChunkDelayMs: env.SIM_CHUNK_DELAY_MS,
    },
  };
}

/** The configuration schema for a runtime: the environment in, `AppConfig` out. */
const configSchema = (runtime: Runtime) =>
  z.object({ env: EnvSchema, providers: z.looseObject({}) }).transform(({ env, providers }) => appConfig(runtime, env, providers));

export type AppConfig = z.infer<ReturnType<typeof configSchema>>;

/** Parses the environment for the given runtime; throws a `ConfigError` naming every bad variable. */
export function loadConfig(runtime: Runtime, source: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = configSchema(runtime).safeParse({ env: source, providers: source });
  if (!parsed.success) {
    // Issues come as `env.MAX_BODY_BYTES`: the variable is what the operator needs to read.
    const unprefixed = new z.ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: issue.path.slice(1) })));
    throw new ConfigError(`invalid configuration: ${formatIssues(unprefixed)}`);
  }
  return parsed.data;
}
