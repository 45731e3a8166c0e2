/**
 * The one configuration module: every setting the gateway reads comes from the environment,
 * parsed once with zod, failing fast with the variable's name. README.md documents each variable.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import defaultRoutes from '../../config/routes.json';
import defaultPrices from '../../config/prices.json';
import type { BudgetConfig } from '../core/metering/alerts';
import { parseFlagDocument, SAFE_DEFAULT_FLAGS, type FlagValues } from '../core/rollout/flags';
import { parsePriceTable, type PriceTable } from '../core/metering/pricing';
import { parsePolicies, type RateLimitPolicies } from '../core/rate-limit/policies';
import { parseRouteTable, ProviderIdSchema, type LegacyTarget, type RouteTable } from '../core/ai/route-table';

export type Runtime = 'aws' | 'local';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const EnvSchema = z.object({
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
  SERVICE_NAME: z.string().min(1).default('hybrid-orchestrator'),
  METRICS_NAMESPACE: z.string().min(1).default('HybridOrchestrator'),
  METRICS_ENABLED: bool.optional(),
  MAX_BODY_BYTES: int(1024, 10 * 1024 * 1024).default(1024 * 1024),
  ROUTES_FILE: optionalString,
  ROUTES_JSON: optionalString,
  API_KEY_CACHE_TTL_SECONDS: int(0, 60).default(30),
  API_KEYS_TABLE: z.string().min(3).default('hybrid-orchestrator-api-keys'),
  RATE_LIMITS_TABLE: z.string().min(3).default('hybrid-orchestrator-rate-limits'),
  RATE_LIMIT_POLICIES: optionalString,
  RATE_LIMIT_FAIL_MODE: z.enum(['closed', 'open']).default('closed'),
  ONLYFANS_GATEWAY_URL: optionalString.pipe(z.url().optional()),
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
  AGGREGATE_SHARDS: int(1, 100).default(1),
  PRICES_FILE: optionalString,
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
  LEGACY_PROVIDER: ProviderIdSchema.default('openai'),
  LEGACY_MODEL: z.string().min(1).max(128).default('gpt-4o-mini'),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  DYNAMODB_ENDPOINT: optionalString.pipe(z.url().optional()),
  DYNAMODB_TIMEOUT_MS: int(100, 30_000).default(2000),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
  AZURE_OPENAI_API_KEY: optionalString,
  AZURE_OPENAI_ENDPOINT: optionalString.pipe(z.url().optional()),
  OPENAI_API_VERSION: z.string().min(1).default('2024-10-21'),
  OPENAI_SECRET_ID: optionalString,
  AZURE_OPENAI_SECRET_ID: optionalString,
  SECRETS_CACHE_TTL_SECONDS: int(0, 3600).default(300),
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

export interface AppConfig {
  runtime: Runtime;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  serviceName: string;
  metricsNamespace: string;
  metricsEnabled: boolean;
  maxBodyBytes: number;
  routeTable: RouteTable;
  apiKeyCacheTtlMs: number;
  tables: { apiKeys: string; rateLimits: string };
  rateLimits: { policies: RateLimitPolicies; failMode: 'closed' | 'open' };
  onlyfans: { gatewayUrl: string | undefined; timeoutMs: number; idempotencyTtlSeconds: number };
  flags: {
    /** Local flags file (used when no AppConfig ids are set). */
    file: string;
    appConfig: { application: string; environment: string; profile: string } | undefined;
    refreshMs: number;
    /** What applies before any flags were loaded: the legacy path unless configured otherwise. */
    defaults: FlagValues;
  };
  legacy: LegacyTarget;
  usage: { recordsTable: string; aggregatesTable: string; retentionSeconds: number; prices: PriceTable; aggregateShards: number };
  alerts: {
    /** SNS topic on AWS; locally alerts go to stdout and `file`. */
    topicArn: string | undefined;
    file: string;
    criticalCooldownMs: number;
    budgets: BudgetConfig;
  };
  aws: { region: string; dynamodbEndpoint: string | undefined; dynamodbTimeoutMs: number };
  providers: {
    openai: { apiKey: string; baseURL?: string } | undefined;
    azureOpenai: { apiKey: string; endpoint: string; apiVersion: string } | undefined;
    secretIds: { openai?: string; 'azure-openai'?: string };
    secretsCacheTtlMs: number;
    apiVersion: string;
  };
  local: {
    host: string;
    port: number;
    dataDir: string | undefined;
    userKey: string;
    adminKey: string;
    simFail: string | undefined;
    simLatencyMs: number;
    simChunkDelayMs: number;
  };
}

/** Raised when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function loadRouteTable(env: z.infer<typeof EnvSchema>): RouteTable {
  if (env.ROUTES_JSON) return parseRouteTable(parseJson(env.ROUTES_JSON, 'ROUTES_JSON'), 'ROUTES_JSON');
  if (env.ROUTES_FILE) {
    let text: string;
    try {
      text = readFileSync(env.ROUTES_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError(`ROUTES_FILE: cannot read ${env.ROUTES_FILE} (${(error as Error).message})`);
    }
    return parseRouteTable(parseJson(text, 'ROUTES_FILE'), `ROUTES_FILE ${env.ROUTES_FILE}`);
  }
  return parseRouteTable(defaultRoutes, 'config/routes.json');
}

function parseJson(text: string, variable: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${variable}: not valid JSON (${(error as Error).message})`);
  }
}

/** Parses the environment for the given runtime. */
export function loadConfig(runtime: Runtime, source: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const env = parsed.data;
  let routeTable: RouteTable;
  try {
    routeTable = loadRouteTable(env);
  } catch (error) {
    throw error instanceof ConfigError ? error : new ConfigError((error as Error).message);
  }
  let policies: RateLimitPolicies;
  try {
    policies = parsePolicies(env.RATE_LIMIT_POLICIES === undefined ? {} : parseJson(env.RATE_LIMIT_POLICIES, 'RATE_LIMIT_POLICIES'));
  } catch (error) {
    throw error instanceof ConfigError ? error : new ConfigError((error as Error).message);
  }
  let flagDefaults: FlagValues = SAFE_DEFAULT_FLAGS;
  if (env.FLAGS_DEFAULTS_JSON !== undefined) {
    try {
      flagDefaults = parseFlagDocument(parseJson(env.FLAGS_DEFAULTS_JSON, 'FLAGS_DEFAULTS_JSON'));
    } catch (error) {
      throw error instanceof ConfigError ? error : new ConfigError(`FLAGS_DEFAULTS_JSON: ${(error as Error).message}`);
    }
  }
  let prices: PriceTable;
  try {
    prices = env.PRICES_JSON
      ? parsePriceTable(parseJson(env.PRICES_JSON, 'PRICES_JSON'), 'PRICES_JSON')
      : env.PRICES_FILE
        ? parsePriceTable(parseJson(readFileSync(env.PRICES_FILE, 'utf8'), 'PRICES_FILE'), `PRICES_FILE ${env.PRICES_FILE}`)
        : parsePriceTable(defaultPrices, 'config/prices.json');
  } catch (error) {
    throw error instanceof ConfigError ? error : new ConfigError((error as Error).message);
  }
  const appConfigIds = [env.APPCONFIG_APPLICATION_ID, env.APPCONFIG_ENVIRONMENT_ID, env.APPCONFIG_PROFILE_ID];
  if (appConfigIds.some((v) => v !== undefined) && appConfigIds.some((v) => v === undefined)) {
    throw new ConfigError('APPCONFIG_APPLICATION_ID, APPCONFIG_ENVIRONMENT_ID and APPCONFIG_PROFILE_ID must be set together');
  }
  if ((env.AZURE_OPENAI_API_KEY === undefined) !== (env.AZURE_OPENAI_ENDPOINT === undefined)) {
    throw new ConfigError('AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT must be set together');
  }
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
    rateLimits: { policies, failMode: env.RATE_LIMIT_FAIL_MODE },
    flags: {
      file: env.FLAGS_FILE ?? join(__dirname, '..', '..', 'config', 'flags.local.json'),
      appConfig:
        env.APPCONFIG_APPLICATION_ID && env.APPCONFIG_ENVIRONMENT_ID && env.APPCONFIG_PROFILE_ID
          ? { application: env.APPCONFIG_APPLICATION_ID, environment: env.APPCONFIG_ENVIRONMENT_ID, profile: env.APPCONFIG_PROFILE_ID }
          : undefined,
      refreshMs: (env.FLAGS_REFRESH_SECONDS ?? (runtime === 'aws' ? 45 : 2)) * 1000,
      defaults: flagDefaults,
    },
    legacy: { provider: env.LEGACY_PROVIDER, model: env.LEGACY_MODEL },
    usage: { recordsTable: env.USAGE_TABLE, aggregatesTable: env.USAGE_AGGREGATES_TABLE, retentionSeconds: env.USAGE_RETENTION_DAYS * 86_400, prices, aggregateShards: env.AGGREGATE_SHARDS },
    alerts: {
      topicArn: env.ALERTS_TOPIC_ARN,
      file: env.ALERTS_FILE ?? join(env.DATA_DIR ?? '.local', 'alerts.jsonl'),
      criticalCooldownMs: env.CRITICAL_ALERT_COOLDOWN_MINUTES * 60_000,
      budgets: {
        dailyUsd: env.BUDGET_DAILY_USD,
        monthlyUsd: env.BUDGET_MONTHLY_USD,
        userDailyUsd: env.BUDGET_USER_DAILY_USD,
        userMonthlyUsd: env.BUDGET_USER_MONTHLY_USD,
        levels: [...new Set(env.BUDGET_ALERT_LEVELS)].sort((a, b) => a - b),
      },
    },
    onlyfans: { gatewayUrl: env.ONLYFANS_GATEWAY_URL, timeoutMs: env.ONLYFANS_GATEWAY_TIMEOUT_MS, idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_HOURS * 3600 },
    aws: { region: env.AWS_REGION, dynamodbEndpoint: env.DYNAMODB_ENDPOINT, dynamodbTimeoutMs: env.DYNAMODB_TIMEOUT_MS },
    providers: {
      openai: env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY, ...(env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : {}) } : undefined,
      azureOpenai:
        env.AZURE_OPENAI_API_KEY && env.AZURE_OPENAI_ENDPOINT
          ? { apiKey: env.AZURE_OPENAI_API_KEY, endpoint: env.AZURE_OPENAI_ENDPOINT, apiVersion: env.OPENAI_API_VERSION }
          : undefined,
      secretIds: {
        ...(env.OPENAI_SECRET_ID ? { openai: env.OPENAI_SECRET_ID } : {}),
        ...(env.AZURE_OPENAI_SECRET_ID ? { 'azure-openai': env.AZURE_OPENAI_SECRET_ID } : {}),
      },
      secretsCacheTtlMs: env.SECRETS_CACHE_TTL_SECONDS * 1000,
      apiVersion: env.OPENAI_API_VERSION,
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
