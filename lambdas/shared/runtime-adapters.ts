/**
 * The adapters the container picks per runtime: AWS clients with bounded calls on Lambda (and when a
 * local endpoint is given), local files and simulators otherwise.
 */
import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LocalAlertPublisher } from '../adapters/alerts/local-alert-publisher';
import { SnsAlertPublisher } from '../adapters/alerts/sns-alert-publisher';
import { AppConfigFlagSource } from '../adapters/appconfig/appconfig-flag-source';
import { boundedHandler, boundSends } from '../adapters/aws/bounded-clients';
import { FileFlagSource } from '../adapters/flags/file-flag-source';
import { HttpMessageGateway } from '../adapters/onlyfans/http-message-gateway';
import { FileUsageOutbox } from '../adapters/outbox/file-usage-outbox';
import { SqsUsageOutbox } from '../adapters/outbox/sqs-usage-outbox';
import { StaticCredentialSource } from '../adapters/providers/credentials';
import { SecretsManagerCredentialSource } from '../adapters/secrets/secrets-manager-credential-source';
import type { CredentialSource } from '../core/ai/ports';
import type { AlertPublisher, UsageOutbox } from '../core/metering/ports';
import { MessageGatewayError } from '../core/messaging/message-service';
import type { MessageGateway } from '../core/messaging/ports';
import type { Clock } from '../core/ports';
import type { FlagSource } from '../core/rollout/ports';
import type { Telemetry } from '../core/telemetry';
import type { AppConfig } from './config';

/**
 * DynamoDB with every call bounded by `DYNAMODB_TIMEOUT_MS`, its two attempts included (each gets
 * half); a local engine drops the requests whose caller gave up (see `bounded-clients.ts`).
 */
export function dynamoClient(config: AppConfig): DynamoDBDocumentClient {
  const local = config.aws.dynamodbEndpoint !== undefined;
  const budget = config.aws.dynamodbTimeoutMs;
  const client = new DynamoDBClient({
    region: config.aws.region,
    maxAttempts: 2,
    requestHandler: boundedHandler(Math.ceil(budget / 2)),
    ...(local ? { endpoint: config.aws.dynamodbEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  return boundSends(DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), budget, { local });
}

export function credentialSource(config: AppConfig, clock: Clock): CredentialSource {
  if (config.runtime === 'aws') {
    const secrets = new SecretsManagerClient({ region: config.aws.region, maxAttempts: 2, requestHandler: boundedHandler(1500) });
    return new SecretsManagerCredentialSource(boundSends(secrets, 3000), clock, {
      secretIds: config.providers.secretIds,
      ttlMs: config.providers.secretsCacheTtlMs,
      timeoutMs: 3000,
    });
  }
  return new StaticCredentialSource(config.providers.environment);
}

/** Where messages go when no OnlyFans gateway is configured: nowhere, and the caller is told so (502, slot given back). */
const unconfiguredGateway: MessageGateway = {
  send: () => Promise.reject(new MessageGatewayError('no ONLYFANS_GATEWAY_URL is configured', undefined, { delivered: false })),
};

export function messageGateway(config: AppConfig): MessageGateway {
  return config.onlyfans.gatewayUrl ? new HttpMessageGateway(config.onlyfans.gatewayUrl, config.onlyfans.timeoutMs) : unconfiguredGateway;
}

export function flagSource(config: AppConfig, clock: Clock): FlagSource {
  if (!config.flags.appConfig) return new FileFlagSource(config.flags.file);
  const client = new AppConfigDataClient({
    region: config.aws.region,
    maxAttempts: 2,
    requestHandler: boundedHandler(2000),
  });
  return new AppConfigFlagSource(client, config.flags.appConfig, clock, {
    minPollIntervalSeconds: Math.max(15, config.flags.refreshMs / 1000),
    timeoutMs: 4000,
  });
}

export function alertPublisher(config: AppConfig, telemetry: Telemetry): AlertPublisher {
  if (config.alerts.topicArn) {
    const sns = new SNSClient({ region: config.aws.region, maxAttempts: 2, requestHandler: boundedHandler(2000) });
    return new SnsAlertPublisher(boundSends(sns, 4000), config.alerts.topicArn);
  }
  // Lambda without a topic (not how the stack deploys it): the log is the only place left.
  if (config.runtime === 'aws') return { publish: async (alert) => telemetry.error(`ALERT ${alert.subject}`, { alert }) };
  return new LocalAlertPublisher(config.alerts.file);
}

/** Where usage records wait while the usage table is down: the spill queue on AWS, a file locally. */
export function usageOutbox(config: AppConfig): UsageOutbox {
  if (config.usage.spill.queueUrl) {
    const sqs = new SQSClient({ region: config.aws.region, maxAttempts: 2, requestHandler: boundedHandler(2000) });
    return new SqsUsageOutbox(boundSends(sqs, 4000), config.usage.spill.queueUrl);
  }
  // Lambda without a queue (not how the stack deploys it): nothing survives the instance, so say so.
  if (config.runtime === 'aws') return { spill: () => Promise.reject(new Error('no USAGE_SPILL_QUEUE_URL is configured')) };
  return new FileUsageOutbox(config.usage.spill.file);
}
