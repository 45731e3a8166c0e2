/**
 * The SQS client, in a module of its own: `usageOutbox` requires it at the first spilled record, and its
 * ESM import lets the Lambda bundle keep only the client (a `require` of the package would keep every command).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { boundedConfig, boundSends } from './bounded-clients';

/** An SQS client whose calls end within 4 s (two attempts of 2 s). */
export function sqsClient(region: string): SQSClient {
  return boundSends(new SQSClient(boundedConfig(region, 2000)), 4000);
}
