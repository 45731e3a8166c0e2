/**
 * The adapters the container picks per runtime: AWS clients with bounded calls on Lambda (and when a
 * local endpoint is given), local files and simulators otherwise.
 */
import { join } from 'node:path';
import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LocalAlertPublisher } from '../adapters/alerts/local-alert-publisher';
import { AppConfigFlagSource } from '../adapters/appconfig/appconfig-flag-source';
import {
  attemptBoundedConfig,
  singleAttemptConfig,
  boundedConfig,
  oneUserAgent,
  stampLocalDeadline,
} from '../adapters/aws/bounded-clients';
import { CachedWrites } from '../adapters/dynamodb/item-writes';
import { FileFlagSource } from '../adapters/flags/file-flag-source';
import { HttpMessageGateway } from '../adapters/onlyfans/http-message-gateway';
import { FileUsageOutbox } from '../adapters/outbox/file-usage-outbox';
import { StaticCredentialSource } from '../adapters/providers/credentials';
import { FileCredentialVault } from '../adapters/secrets/file-credential-vault';
import type { CredentialVault } from '../core/ai/provider-configs';
import { ConfigError } from '../core/errors';
import { providerModule, providersOf } from '../adapters/providers/registry';
import type { CredentialSource } from '../core/ai/ports';
import type { AlertPublisher, UsageOutbox } from '../core/metering/ports';
import { MessageGatewayError } from '../core/messaging/message-service';
import type { MessageGateway } from '../core/messaging/ports';
import type { Clock } from '../core/ports';
import type { FlagSource } from '../core/rollout/ports';
import type { Telemetry } from '../core/telemetry';
import { BUNDLED_SNS, BUNDLED_SQS, requireBeside } from '../adapters/aws/beside-handler';
import type { AppConfig } from './config';

/**
 * A port whose adapter, and the AWS SDK client behind it, is loaded at its first use rather than at
 * cold start: SNS (alerts), SQS (spilled records) and Secrets Manager (first AI request) are not needed
 * to answer most requests, and each client takes milliseconds of the module load. (AppConfig and
 * DynamoDB are used during every cold start, so they load eagerly.) The `require` inside `load` is what
 * keeps the bundler from evaluating those modules up front; SNS and SQS are not even in the bundle,
 * but in files of their own beside it (`requireBeside`).
 */
function onFirstUse<T extends object>(load: () => T): T {
  let adapter: T | undefined;
  return new Proxy({} as T, {
    get(_, property) {
      adapter ??= load();
      const value = (adapter as Record<string | symbol, unknown>)[property];
      return typeof value === 'function' ? value.bind(adapter) : value;
    },
  });
}

/** The gateway's two ways to DynamoDB: the document client, and the request path's writes on a cached handler stack. */
export interface DynamoClients {
  doc: DynamoDBDocumentClient;
  writes: CachedWrites;
  /** Writes sent once, never retried by the SDK (a counter decrease must not be applied twice). */
  writesOnce: CachedWrites;
  destroy(): void;
}

/**
 * DynamoDB with every call bounded by `DYNAMODB_TIMEOUT_MS`, its two attempts included; a local
 * engine drops the requests whose caller gave up (see `bounded-clients.ts`). The clients that retry
 * share one connection pool and retry quota; the one whose writes are sent once has its own.
 */
export function dynamoClients(config: AppConfig): DynamoClients {
  const local = config.aws.dynamodbEndpoint !== undefined;
  const budget = config.aws.dynamodbTimeoutMs;
  const where = local ? { endpoint: config.aws.dynamodbEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {};
  const retried = attemptBoundedConfig(config.aws.region, budget);
  const client = (cacheMiddleware: boolean, attempts: 'retried' | 'single' = 'retried') => {
    const built = oneUserAgent(
      new DynamoDBClient({
        ...(attempts === 'single' ? singleAttemptConfig(config.aws.region, budget) : retried),
        ...where,
        cacheMiddleware,
      }),
    );
    return local ? stampLocalDeadline(built, budget) : built;
  };
  const doc = DynamoDBDocumentClient.from(client(false), { marshallOptions: { removeUndefinedValues: true } });
  // Built when first used: the Lambdas that only read and write through `doc` (heartbeats) never pay for them.
  let writes: CachedWrites | undefined;
  let writesOnce: CachedWrites | undefined;
  return {
    doc,
    get writes() {
      return (writes ??= new CachedWrites(client(true)));
    },
    get writesOnce() {
      return (writesOnce ??= new CachedWrites(client(true, 'single')));
    },
    destroy: () => {
      doc.destroy();
      writes?.client.destroy();
      writesOnce?.client.destroy();
    },
  };
}

/**
 * Provider credentials: on AWS from each provider's secret, except for providers that sign with the
 * function's role (Bedrock), whose settings the stack puts in the environment; locally all from the
 * environment (or the simulators).
 */
export function credentialSource(config: AppConfig, clock: Clock): CredentialSource {
  const providers = providersOf(config.routeTable);
  const fromEnvironment = new StaticCredentialSource(config.providers.environment, providers);
  if (config.runtime === 'aws') {
    const fromSecrets = onFirstUse(() => {
      const { SecretsManagerCredentialSource } =
        require('../adapters/secrets/secrets-manager-credential-source') as typeof import('../adapters/secrets/secrets-manager-credential-source');
      return new SecretsManagerCredentialSource(secretsManager(config), clock, {
        providers,
        secretIds: config.providers.secretIds,
        ttlMs: config.providers.secretsCacheTtlMs,
        timeoutMs: 3000,
      });
    });
    return { get: (id) => (providerModule(id, providers)?.aws ? fromSecrets.get(id) : fromEnvironment.get(id)) };
  }
  return fromEnvironment;
}

/**
 * Where runtime providers' keys go: Secrets Manager on AWS (loaded at first use, under the stack's
 * prefix), a file under `DATA_DIR` locally (memory without one).
 */
export function credentialVault(config: AppConfig): CredentialVault {
  if (process.env['HO_LAMBDA_BUNDLE'] !== 'true' && config.runtime !== 'aws') return new FileCredentialVault(config.local.dataDir);
  const prefix = config.providers.runtime.secretPrefix;
  if (!prefix) {
    const refuse = () =>
      Promise.reject(new ConfigError('RUNTIME_PROVIDER_SECRET_PREFIX is not set: runtime provider keys have nowhere to go'));
    return { put: refuse, delete: refuse, get: async () => undefined };
  }
  return onFirstUse(() => {
    const { SecretsManagerCredentialVault } =
      require('../adapters/secrets/secrets-manager-credential-vault') as typeof import('../adapters/secrets/secrets-manager-credential-vault');
    return new SecretsManagerCredentialVault(secretsManager(config), prefix, 3000);
  });
}

/** A Secrets Manager client (calls end within 3 s), loaded by its first user. */
function secretsManager(config: AppConfig) {
  const { secretsManagerClient } =
    require('../adapters/aws/secrets-manager-client') as typeof import('../adapters/aws/secrets-manager-client');
  return secretsManagerClient(config.aws.region);
}

/** Where messages go when no OnlyFans gateway is configured: nowhere, and the caller is told so (502, slot given back). */
const unconfiguredGateway: MessageGateway = {
  send: () => Promise.reject(new MessageGatewayError('no ONLYFANS_GATEWAY_URL is configured', undefined, { delivered: false })),
};

export function messageGateway(config: AppConfig): MessageGateway {
  return config.onlyfans.gatewayUrl ? new HttpMessageGateway(config.onlyfans.gatewayUrl, config.onlyfans.timeoutMs) : unconfiguredGateway;
}

export function flagSource(config: AppConfig, clock: Clock): FlagSource {
  if (process.env['HO_LAMBDA_BUNDLE'] !== 'true' && !config.flags.appConfig) return new FileFlagSource(config.flags.file);
  // A Lambda without AppConfig (not how the stack deploys it): the flags' defaults, and each refresh says why.
  if (!config.flags.appConfig) {
    const missing = new ConfigError('APPCONFIG_APPLICATION_ID, APPCONFIG_ENVIRONMENT_ID and APPCONFIG_PROFILE_ID are not set');
    return { name: 'no AppConfig', fetch: () => Promise.reject(missing) };
  }
  const client = new AppConfigDataClient(boundedConfig(config.aws.region, 2000));
  return new AppConfigFlagSource(client, config.flags.appConfig, clock, {
    minPollIntervalSeconds: Math.max(15, config.flags.refreshMs / 1000),
    timeoutMs: 4000,
  });
}

export function alertPublisher(config: AppConfig, telemetry: Telemetry): AlertPublisher {
  const topicArn = config.alerts.topicArn;
  if (topicArn) {
    return onFirstUse(() => {
      const { snsAlertPublisher } = requireBeside<typeof import('../adapters/aws/sns-client')>(
        BUNDLED_SNS,
        join(__dirname, '..', 'adapters', 'aws', 'sns-client'),
      );
      return snsAlertPublisher(config.aws.region, topicArn);
    });
  }
  // The local file is dropped from the Lambda bundle (HO_LAMBDA_BUNDLE is a build-time constant there).
  // The test is written out at each use: held in a constant, it would keep every local adapter in the
  // bundle (measured: 902,687 bytes, over the budget).
  if (process.env['HO_LAMBDA_BUNDLE'] !== 'true' && config.runtime !== 'aws') return new LocalAlertPublisher(config.alerts.file);
  // Lambda without a topic (not how the stack deploys it): the log is the only place left.
  return { publish: async (alert) => telemetry.error(`ALERT ${alert.subject}`, { alert }) };
}

/** Where usage records wait while the usage table is down: the spill queue on AWS, a file locally. */
export function usageOutbox(config: AppConfig): UsageOutbox {
  const queueUrl = config.usage.spill.queueUrl;
  if (queueUrl) {
    return onFirstUse(() => {
      const { sqsUsageOutbox } = requireBeside<typeof import('../adapters/aws/sqs-client')>(
        BUNDLED_SQS,
        join(__dirname, '..', 'adapters', 'aws', 'sqs-client'),
      );
      return sqsUsageOutbox(config.aws.region, queueUrl);
    });
  }
  // The local file is dropped from the Lambda bundle (HO_LAMBDA_BUNDLE is a build-time constant there).
  if (process.env['HO_LAMBDA_BUNDLE'] !== 'true' && config.runtime !== 'aws') return new FileUsageOutbox(config.usage.spill.file);
  // Lambda without a queue (not how the stack deploys it): nothing survives the instance, so say so.
  return { spill: () => Promise.reject(new Error('no USAGE_SPILL_QUEUE_URL is configured')) };
}
