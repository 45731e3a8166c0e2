/**
 * The composition root: the only place that builds SDK clients and wires adapters into the core.
 * Built once per Lambda cold start, or once by the local runner.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Hono } from 'hono';
import { AppConfigFlagSource } from '../adapters/appconfig/appconfig-flag-source';
import { DynamoDbApiKeyStore } from '../adapters/dynamodb/dynamodb-api-key-store';
import { FileFlagSource } from '../adapters/flags/file-flag-source';
import { DynamoDbCounterStore } from '../adapters/dynamodb/dynamodb-counter-store';
import { DynamoDbIdempotencyStore } from '../adapters/dynamodb/dynamodb-idempotency-store';
import { HttpMessageGateway } from '../adapters/onlyfans/http-message-gateway';
import { StaticCredentialSource, type CredentialSource } from '../adapters/providers/credentials';
import { SdkProviderDirectory } from '../adapters/providers/sdk-provider-directory';
import { SecretsManagerCredentialSource } from '../adapters/secrets/secrets-manager-credential-source';
import { createMetrics, PowertoolsTelemetry } from '../adapters/telemetry/powertools-telemetry';
import { ApiKeyService } from '../core/api-keys';
import { FlagStore, type FlagSource } from '../core/flag-store';
import { MessageGatewayError, MessageService, type MessageGateway } from '../core/messaging';
import { RateLimiter } from '../core/rate-limit/rate-limiter';
import { Orchestrator } from '../core/orchestrator';
import type { Clock, ProviderDirectory, Random } from '../core/ports';
import type { Telemetry } from '../core/telemetry';
import { createApp } from '../http/app';
import type { AppEnv } from '../http/context';
import type { AppConfig } from './config';
import { systemClock, systemRandom } from './system';

export interface ContainerOverrides {
  clock?: Clock;
  random?: Random;
  credentials?: CredentialSource;
  telemetry?: Telemetry;
  messageGateway?: MessageGateway;
  flagSource?: FlagSource;
}

export interface Gateway {
  app: Hono<AppEnv>;
  apiKeys: ApiKeyService;
  limiter: RateLimiter;
  flags: FlagStore;
  providers: ProviderDirectory;
  dynamo: DynamoDBDocumentClient;
  logger: Logger;
  close(): void;
}

export function createLogger(config: AppConfig): Logger {
  return new Logger({ serviceName: config.serviceName, logLevel: config.logLevel });
}

function dynamoClient(config: AppConfig): DynamoDBDocumentClient {
  const local = config.aws.dynamodbEndpoint !== undefined;
  const client = new DynamoDBClient({
    region: config.aws.region,
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: config.aws.dynamodbTimeoutMs, requestTimeout: config.aws.dynamodbTimeoutMs }),
    ...(local ? { endpoint: config.aws.dynamodbEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

function credentialSource(config: AppConfig, clock: Clock): CredentialSource {
  if (config.runtime === 'aws') {
    return new SecretsManagerCredentialSource(new SecretsManagerClient({ region: config.aws.region, maxAttempts: 2 }), clock, {
      secretIds: config.providers.secretIds,
      ttlMs: config.providers.secretsCacheTtlMs,
      timeoutMs: 3000,
    });
  }
  return new StaticCredentialSource({ openai: config.providers.openai, 'azure-openai': config.providers.azureOpenai });
}

/** Where messages go when no OnlyFans gateway is configured: nowhere, and the caller is told so (502, slot given back). */
const unconfiguredGateway: MessageGateway = {
  send: () => Promise.reject(new MessageGatewayError('no ONLYFANS_GATEWAY_URL is configured')),
};

function messageGateway(config: AppConfig): MessageGateway {
  return config.onlyfans.gatewayUrl ? new HttpMessageGateway(config.onlyfans.gatewayUrl, config.onlyfans.timeoutMs) : unconfiguredGateway;
}

function flagSource(config: AppConfig, clock: Clock): FlagSource {
  if (!config.flags.appConfig) return new FileFlagSource(config.flags.file);
  const client = new AppConfigDataClient({
    region: config.aws.region,
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 3000 }),
  });
  return new AppConfigFlagSource(client, config.flags.appConfig, clock, { minPollIntervalSeconds: Math.max(15, config.flags.refreshMs / 1000), timeoutMs: 4000 });
}

/** Builds the whole gateway for a configuration. */
export function buildGateway(config: AppConfig, overrides: ContainerOverrides = {}): Gateway {
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? systemRandom;
  const logger = createLogger(config);
  const metrics = config.metricsEnabled ? createMetrics(config.metricsNamespace, config.serviceName) : undefined;
  const telemetry = overrides.telemetry ?? new PowertoolsTelemetry(logger, metrics, config.serviceName);
  const dynamo = dynamoClient(config);
  const providers = new SdkProviderDirectory(overrides.credentials ?? credentialSource(config, clock));
  const keyStore = new DynamoDbApiKeyStore(dynamo, config.tables.apiKeys);
  const apiKeys = new ApiKeyService(keyStore, clock, random, {
    cacheTtlMs: config.apiKeyCacheTtlMs,
    negativeCacheTtlMs: Math.min(config.apiKeyCacheTtlMs, 5000),
    maxCacheEntries: 10_000,
  });
  const limiter = new RateLimiter(new DynamoDbCounterStore(dynamo, config.tables.rateLimits), clock, config.rateLimits.policies);
  const messages = new MessageService(
    limiter,
    overrides.messageGateway ?? messageGateway(config),
    new DynamoDbIdempotencyStore(dynamo, config.tables.rateLimits),
    clock,
    random,
    // A pending claim outlives the gateway call it guards, so only a crashed request's claim is taken over.
    { leaseMs: config.onlyfans.timeoutMs + 5000, retentionSeconds: config.onlyfans.idempotencyTtlSeconds },
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
  const app = createApp({
    maxBodyBytes: config.maxBodyBytes,
    routeTable: config.routeTable,
    orchestrator: new Orchestrator({ providers, clock, random, deadlineMs: config.routeTable.defaults.deadlineMs }),
    apiKeys,
    telemetry,
    limiter,
    rateLimitFailMode: config.rateLimits.failMode,
    messages,
    flags,
    legacyTarget: config.legacy,
    clock,
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
  return { app, apiKeys, limiter, flags, providers, dynamo, logger, close: () => dynamo.destroy() };
}
