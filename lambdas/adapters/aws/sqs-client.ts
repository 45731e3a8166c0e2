/**
 * The SQS spill queue and its client, in a module of its own: `usageOutbox` requires it at the first
 * spilled record. In the Lambda bundles it is a file of its own beside the handler (`BUNDLED_SQS`), so
 * the SQS client's 32 KiB are neither loaded nor parsed at cold start; its ESM import keeps only the
 * client and the one command (a `require` of the package would keep every command).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { UsageOutbox } from '../../core/metering/ports';
import { SqsUsageOutbox } from '../outbox/sqs-usage-outbox';
import { boundedConfig, boundSends } from './bounded-clients';

/** An SQS client whose calls end within 4 s (two attempts of 2 s). */
export function sqsClient(region: string): SQSClient {
  return boundSends(new SQSClient(boundedConfig(region, 2000)), 4000);
}

/** Usage records spilled to the queue at `queueUrl` with a bounded client. */
export function sqsUsageOutbox(region: string, queueUrl: string): UsageOutbox {
  return new SqsUsageOutbox(sqsClient(region), queueUrl);
}
