/**
 * The composition root: the only place that builds SDK clients and wires adapters into the core.
 * Built once per Lambda cold start, or once by the local runner.
 */
import { DEFAULT_CACHE_OPTIONS, ResponseCache } from '../core/ai/response-cache';
import { DynamoDbCacheStore } from '../adapters/dynamodb/dynamodb-cache-store';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Hono } from 'hono';
import { DynamoDbUsageStore } from '../adapters/dynamodb/dynamodb-usage-store';
import { tokenizerEstimator } from '../adapters/tokenizer/tokenizer-estimator';
import { DynamoDbApiKeyStore } from '../adapters/dynamodb/dynamodb-api-key-store';
import { DynamoDbCounterStore } from '../adapters/dynamodb/dynamodb-counter-store';
import { DynamoDbIdempotencyStore } from '../adapters/dynamodb/dynamodb-idempotency-store';
import { lazyWrites } from '../adapters/dynamodb/item-writes';
import { BUILT_IN_PROVIDER_IDS, providerModule, providersOf } from '../adapters/providers/registry';
import { DynamoDbProviderConfigStore } from '../adapters/dynamodb/dynamodb-provider-config-store';
import { DEFAULT_PROVIDER_CONFIG_OPTIONS, ProviderConfigs } from '../core/ai/provider-configs';
import { RegistryProviderDirectory } from '../adapters/providers/registry-provider-directory';
import { createMetrics, PowertoolsTelemetry } from '../adapters/telemetry/powertools-telemetry';
import { DynamoDbHealthStore } from '../adapters/dynamodb/dynamodb-health-store';
import { AiRequests } from '../core/ai/ai-requests';
import { errorFields } from '../core/errors';
import { DEFAULT_HEALTH_OPTIONS, HealthMonitor } from '../core/health/health-monitor';
import { Heartbeats } from '../core/health/heartbeats';
import { afterRequest } from '../core/metering/after-request';
import { BudgetAlerts, CriticalAlerts, trackedTotals } from '../core/metering/alerts';
import type { AlertPublisher, UsageOutbox } from '../core/metering/ports';
import { ApiKeyService } from '../core/access/api-keys';
import { BackgroundTasks } from '../core/background';
import { runDailyReport } from '../core/metering/daily-report';
import { longestRecordWriteMs, UsageLedger } from '../core/metering/usage-ledger';
import { AggregationQueue, UsageAggregator, type AggregationFeed, type QuotaSettlements } from '../core/metering/aggregation';
import { FlagStore } from '../core/rollout/flag-store';
import type { FlagSource } from '../core/rollout/ports';
import { MessageService } from '../core/messaging/message-service';
import type { MessageGateway } from '../core/messaging/ports';
import { RateLimiter } from '../core/rate-limit/rate-limiter';
import { Orchestrator } from '../core/ai/orchestrator';
import type { Clock, Random } from '../core/ports';
import type { UsageRecord } from '../core/metering/usage-record';
import type { CredentialSource, ProviderDirectory } from '../core/ai/ports';
import type { Telemetry } from '../core/telemetry';
import { createApp } from '../http/app';
import type { AppDeps, AppEnv } from '../http/context';
import type { AppConfig } from './config';
import { systemClock, systemRandom } from './system';
import {
  alertPublisher,
  credentialSource,
  credentialVault,
  dynamoClients,
  type DynamoClients,
  flagSource,
  messageGateway,
  usageOutbox,
} from './runtime-adapters';
import { currentInvocationWork } from './invocation-work';

export interface ContainerOverrides {
  clock?: Clock;
  random?: Random;
  credentials?: CredentialSource;
  telemetry?: Telemetry;
  messageGateway?: MessageGateway;
  flagSource?: FlagSource;
  alerts?: AlertPublisher;
}

export interface Gateway {
  app: Hono<AppEnv>;
  apiKeys: ApiKeyService;
  limiter: RateLimiter;
  flags: FlagStore;
  /** Post-response work (usage, aggregates, alerts): the Lambda handler drains it before returning. */
  background: BackgroundTasks;
  usage: DynamoDbUsageStore;
  /** Writes usage records (and, with `replay`, those that waited in the outbox). */
  ledger: UsageLedger;
  outbox: UsageOutbox;
  reports: AppDeps['reports'];
  providers: ProviderDirectory;
  /** Provider health: circuit breakers, failover, fleet-wide counters. */
  health: HealthMonitor;
  /** One round of heartbeats over every configured target (a timer runs them locally, a schedule on AWS). */
  heartbeats: Heartbeats;
  /** The process is stopping: streams in flight end with an error event now. */
  shutdown(): void;
  /** The DynamoDB clients (the bench counts the calls they send). */
  dynamo: DynamoClients;
  logger: Logger;
  close(): void;
}

export function createLogger(config: AppConfig): Logger {
  return new Logger({ serviceName: config.serviceName, logLevel: config.logLevel });
}

/** Builds the whole gateway for a configuration. */
export function buildGateway(config: AppConfig, overrides: ContainerOverrides = {}): Gateway {
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? systemRandom;
  const logger = createLogger(config);
  const metrics = config.metricsEnabled ? createMetrics(config.metricsNamespace, config.serviceName) : undefined;
  const telemetry = overrides.telemetry ?? new PowertoolsTelemetry(logger, metrics, config.serviceName);
  const clients = dynamoClients(config);
  const dynamo = clients.doc;
  const { providerConfigs, routes, providers } = runtimeProviders(
    config,
    dynamo,
    overrides.credentials ?? credentialSource(config, clock),
    clock,
    telemetry,
  );
  const keyStore = new DynamoDbApiKeyStore(dynamo, config.tables.apiKeys);
  const apiKeys = new ApiKeyService(keyStore, clock, random, {
    cacheTtlMs: config.apiKeyCacheTtlMs,
    negativeCacheTtlMs: Math.min(config.apiKeyCacheTtlMs, 5000),
    maxCacheEntries: 10_000,
  });
  const limiter = rateLimiter(config, clients, clock, random);
  const messages = new MessageService(
    limiter,
    overrides.messageGateway ?? messageGateway(config),
    new DynamoDbIdempotencyStore(dynamo, config.tables.rateLimits),
    clock,
    random,
    // A pending claim outlives what it guards (its own write, an admission of up to two calls, the
    // gateway call and the write of its result), so only a crashed request's claim is taken over.
    {
      leaseMs: 4 * config.aws.dynamodbTimeoutMs + config.onlyfans.timeoutMs + 5000,
      sendMs: config.onlyfans.timeoutMs + config.aws.dynamodbTimeoutMs,
      retentionSeconds: config.onlyfans.idempotencyTtlSeconds,
    },
  );
  const flags = new FlagStore(overrides.flagSource ?? flagSource(config, clock), clock, telemetry, {
    refreshMs: config.flags.refreshMs,
    // Older than two refreshes: report stale, and make the next request wait (up to 1 s) for fresh flags.
    maxStaleMs: 2 * config.flags.refreshMs,
    waitMs: 1000,
    defaults: config.flags.defaults,
  });
  // Start loading now, so the first request (a cold start's) usually finds the flags ready.
  void flags.refresh();
  const background = new BackgroundTasks(
    (error) => telemetry.error('post-response work failed', { error: errorFields(error) }),
    currentInvocationWork,
  );
  const usage = usageStore(config, clients, random, clock, telemetry);
  const alerts = overrides.alerts ?? alertPublisher(config, telemetry);
  const outbox = usageOutbox(config);
  const ledger = new UsageLedger(
    usage,
    config.usage.prices,
    clock,
    telemetry,
    config.usage.retentionSeconds,
    aggregationFeed(
      config,
      usage,
      () => alerts,
      () => limiter,
      clock,
      telemetry,
      background,
    ),
    outbox,
  );
  const critical = new CriticalAlerts(alerts, usage, clock, config.alerts.criticalCooldownMs);
  if (!config.aiMetering)
    telemetry.info('AI metering is off (AI_METERING=off): AI requests have no per-user limits, quota or usage records', {});
  const followUp = afterRequest({ ledger, critical, background, aiMetering: config.aiMetering });
  const reports = {
    run: (day: string) => runDailyReport(day, { records: usage, store: usage, alerts, markers: usage, now: clock.now() }),
    get: (day: string) => usage.report(day),
  };
  const health = new HealthMonitor(
    new DynamoDbHealthStore(dynamo, config.health.table),
    clock,
    telemetry,
    `gw-${Buffer.from(random.bytes(6)).toString('hex')}`,
    (work) => background.track(work),
    { ...DEFAULT_HEALTH_OPTIONS, refreshMs: config.health.refreshMs, flushMs: config.health.flushMs },
  );
  health.start();
  providerConfigs.start();
  const heartbeats = new Heartbeats({ routes, providers, health, clock, telemetry });
  // Aborted when the process stops: streams in flight end with an error event and are recorded.
  const stopping = new AbortController();
  const cache = new ResponseCache(new DynamoDbCacheStore(dynamo, config.cache.table), clock, telemetry, {
    ...DEFAULT_CACHE_OPTIONS,
    l1MaxBytes: config.cache.memoryBytes,
    defaultTtlSeconds: config.cache.defaultTtlSeconds,
  });
  const ai = new AiRequests({
    shutdown: stopping.signal,
    orchestrator: new Orchestrator({ providers, clock, random, deadlineMs: config.routeTable.defaults.deadlineMs, health }),
    health,
    routes,
    routesReady: () => providerConfigs.ready(),
    legacyTarget: config.legacy,
    flags,
    clock,
    tokens: tokenizerEstimator,
    background,
    cache,
    smart: { model: config.complexityModel, prices: config.usage.prices, performance: health },
    usageRecords: config.aiMetering,
  });
  const app = createApp({
    cache,
    pricing: config.usage.prices,
    maxBodyBytes: config.maxBodyBytes,
    routes,
    providerConfigs,
    // 32 hex digits: also Secrets Manager's version id (ClientRequestToken takes 32 to 64 characters).
    keyVersion: () => Buffer.from(random.bytes(16)).toString('hex'),
    ai,
    apiKeys,
    telemetry,
    limiter,
    rateLimitFailMode: config.rateLimits.failMode,
    aiMetering: config.aiMetering,
    messages,
    // The log line, metrics, usage record and alerts of a finished request run once its response has
    // been written (the next turn of the event loop), so their CPU (record, marshalling, signing) never
    // delays the answer; tracked from now, so the invocation waits for them.
    summaries: (summary) =>
      background.track(
        new Promise((resolve) => setImmediate(resolve)).then(() => {
          telemetry.record(summary);
          followUp(summary);
        }),
      ),
    background,
    usage,
    health,
    providers,
    reports,
    prices: config.usage.prices,
    clock,
    // 96 random bits: unique, which the usage records rely on (a new record is written without a check).
    newRequestId: () => `req_${Buffer.from(random.bytes(12)).toString('hex')}`,
    readiness: {
      dynamodb: async () => {
        await keyStore.ping();
        return { ok: true };
      },
      config: async () => ({ ok: true, detail: `route table v${config.routeTable.version}` }),
      providers: async () => {
        const configured = await providers.configured();
        return configured.length > 0 ? { ok: true, detail: configured.join(', ') } : { ok: false, detail: 'no provider has credentials' };
      },
    },
  });
  return {
    app,
    apiKeys,
    limiter,
    flags,
    background,
    usage,
    ledger,
    outbox,
    reports,
    providers,
    health,
    heartbeats,
    shutdown: () => stopping.abort(),
    dynamo: clients,
    logger,
    close: () => {
      health.stop();
      providerConfigs.stop();
      clients.destroy();
    },
  };
}

/**
 * Runtime provider configurations (`/admin/providers`) over the route table and the deploy-time
 * credentials, shared through the provider-health table and the credential vault; the route table in
 * force, and the provider clients.
 */
function runtimeProviders(
  config: AppConfig,
  dynamo: DynamoDBDocumentClient,
  credentials: CredentialSource,
  clock: Clock,
  telemetry: Telemetry,
) {
  const providerConfigs = new ProviderConfigs(
    {
      base: config.routeTable,
      store: new DynamoDbProviderConfigStore(dynamo, config.health.table),
      vault: credentialVault(config),
      credentials,
      clock,
      telemetry,
      providers: {
        validate: (table) => void providersOf(table),
        parse: (table, id, document) => providerModule(id, providersOf(table))?.parseCredentials(document),
        builtIn: BUILT_IN_PROVIDER_IDS,
      },
    },
    { ...DEFAULT_PROVIDER_CONFIG_OPTIONS, refreshMs: config.providers.runtime.refreshMs },
  );
  const routes = () => providerConfigs.current();
  // The provider clients over the runtime layer of credentials, for the providers of the table in force.
  const providers = new RegistryProviderDirectory(providerConfigs, () => providersOf(routes()));
  return { providerConfigs, routes, providers };
}

/** What the scheduled report Lambda needs: the usage store and the alerts topic, nothing else. */
export function buildReporter(
  config: AppConfig,
  clock: Clock = systemClock,
): { run(day: string): ReturnType<typeof runDailyReport>; logger: Logger; close(): void } {
  const logger = createLogger(config);
  const telemetry = new PowertoolsTelemetry(logger, undefined, config.serviceName);
  const dynamo = dynamoClients(config);
  const usage = usageStore(config, dynamo, systemRandom, clock, telemetry);
  const alerts = alertPublisher(config, telemetry);
  return {
    run: (day) => runDailyReport(day, { records: usage, store: usage, alerts, markers: usage, now: clock.now() }),
    logger,
    close: () => dynamo.destroy(),
  };
}

/**
 * What the scheduled heartbeat Lambda needs: provider credentials and clients, the health store, the
 * logger and metrics. Its health view is read once per run; its outcomes are written before it ends.
 */
export function buildHeartbeats(config: AppConfig, clock: Clock = systemClock): { run(): Promise<unknown>; logger: Logger; close(): void } {
  const logger = createLogger(config);
  const metrics = config.metricsEnabled ? createMetrics(config.metricsNamespace, config.serviceName) : undefined;
  const telemetry = new PowertoolsTelemetry(logger, metrics, config.serviceName);
  const { doc: dynamo, destroy } = dynamoClients(config);
  const { providerConfigs, routes, providers } = runtimeProviders(config, dynamo, credentialSource(config, clock), clock, telemetry);
  const pending = new BackgroundTasks((error) => telemetry.error('heartbeat write failed', { error: errorFields(error) }));
  const health = new HealthMonitor(new DynamoDbHealthStore(dynamo, config.health.table), clock, telemetry, 'heartbeat', (work) =>
    pending.track(work),
  );
  const heartbeats = new Heartbeats({ routes, providers, health, clock, telemetry });
  return {
    run: async () => {
      // The runtime provider configurations as they stand now (a run is a cold read each minute).
      await providerConfigs.refresh().catch(() => undefined);
      const results = await heartbeats.run();
      await health.flushAll();
      await pending.drain();
      return results;
    },
    logger,
    close: destroy,
  };
}

/** What the usage replay Lambda needs: the ledger over the usage tables (no outbox: a failure is retried by SQS). */
export function buildReplayer(
  config: AppConfig,
  clock: Clock = systemClock,
): { replay(record: UsageRecord): Promise<void>; longestReplayMs: number; logger: Logger } {
  const logger = createLogger(config);
  const metrics = config.metricsEnabled ? createMetrics(config.metricsNamespace, config.serviceName) : undefined;
  const telemetry = new PowertoolsTelemetry(logger, metrics, config.serviceName);
  const dynamo = dynamoClients(config);
  const usage = usageStore(config, dynamo, systemRandom, clock, telemetry);
  const background = new BackgroundTasks((error) => telemetry.error('post-response work failed', { error: errorFields(error) }));
  const ledger = new UsageLedger(
    usage,
    config.usage.prices,
    clock,
    telemetry,
    config.usage.retentionSeconds,
    // Alerts only if this process aggregates (on AWS the stream consumer does: no SNS client here).
    aggregationFeed(
      config,
      usage,
      () => alertPublisher(config, telemetry),
      () => rateLimiter(config, dynamo, clock, systemRandom),
      clock,
      telemetry,
      background,
    ),
    { spill: () => Promise.reject(new Error('replaying: a failed record stays on the queue')) },
  );
  return {
    replay: async (record) => {
      await ledger.replay(record);
      await background.drain();
    },
    longestReplayMs: longestRecordWriteMs(config.aws.dynamodbTimeoutMs),
    logger,
  };
}

/** The usage tables: records, aggregates (detail cells over `AGGREGATE_SHARDS` write shards), alert markers, reports. */
function usageStore(config: AppConfig, dynamo: DynamoClients, random: Random, clock: Clock, telemetry: Telemetry): DynamoDbUsageStore {
  return new DynamoDbUsageStore(
    dynamo.doc,
    { records: config.usage.recordsTable, aggregates: config.usage.aggregatesTable },
    { shards: config.usage.aggregateShards, random },
    () => clock.now(),
    (error) => telemetry.error('stale stream markers not removed', { error: errorFields(error) }),
    dynamo.writes,
  );
}

/** The rate limiter over the counters table: admissions on the request path, token settlements in the aggregator. */
function rateLimiter(config: AppConfig, dynamo: DynamoClients, clock: Clock, random: Random): RateLimiter {
  return new RateLimiter(
    // The writes sent once serve refunds only: their client is built by the first.
    new DynamoDbCounterStore(
      dynamo.doc,
      config.tables.rateLimits,
      dynamo.writes,
      lazyWrites(() => dynamo.writesOnce),
    ),
    clock,
    config.rateLimits.policies,
    random,
  );
}

/** The aggregator over the usage tables, with the budget alerts it checks and the quota counters it settles. */
function usageAggregator(
  config: AppConfig,
  usage: DynamoDbUsageStore,
  alerts: AlertPublisher,
  settlements: QuotaSettlements,
  clock: Clock,
  telemetry: Telemetry,
): UsageAggregator {
  return new UsageAggregator(
    usage,
    new BudgetAlerts(config.alerts.budgets, alerts, usage, clock),
    trackedTotals(config.alerts.budgets),
    telemetry,
    settlements,
  );
}

/**
 * Where the request path hands stored records to aggregation: with `stream` nowhere (the usage table's
 * stream feeds the aggregation Lambda), else an in-process queue flushed in batches as post-response work.
 */
function aggregationFeed(
  config: AppConfig,
  usage: DynamoDbUsageStore,
  alerts: () => AlertPublisher,
  settlements: () => QuotaSettlements,
  clock: Clock,
  telemetry: Telemetry,
  background: BackgroundTasks,
): AggregationFeed {
  const { mode, batchMs, maxBatch } = config.usage.aggregation;
  if (mode === 'stream') return { add: () => undefined };
  return new AggregationQueue(
    usageAggregator(config, usage, alerts(), settlements(), clock, telemetry),
    (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    (work) => background.track(work),
    telemetry,
    { batchMs, maxBatch },
  );
}

/** What the stream aggregation Lambda needs: the aggregator over the usage tables. */
export function buildStreamAggregator(config: AppConfig, clock: Clock = systemClock): { aggregator: UsageAggregator; logger: Logger } {
  const logger = createLogger(config);
  const telemetry = new PowertoolsTelemetry(logger, undefined, config.serviceName);
  const dynamo = dynamoClients(config);
  const usage = usageStore(config, dynamo, systemRandom, clock, telemetry);
  const limiter = rateLimiter(config, dynamo, clock, systemRandom);
  return { aggregator: usageAggregator(config, usage, alertPublisher(config, telemetry), limiter, clock, telemetry), logger };
}
