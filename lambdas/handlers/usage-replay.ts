/**
 * Lambda on the usage spill queue: writes back the usage records the gateway could not store when
 * DynamoDB was unavailable. Idempotent (a record already stored is kept, not counted twice); a record
 * that still cannot be written is reported as a batch item failure and retried, then dead-lettered.
 */
import type { UsageRecord } from '../core/metering/usage-record';
import { loadConfig } from '../shared/config';
import { buildReplayer } from '../shared/container';

const replayer = buildReplayer(loadConfig('aws'));

interface SqsEvent {
  Records: Array<{ messageId: string; body: string }>;
}

export async function handler(event: SqsEvent): Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }> {
  const failures: Array<{ itemIdentifier: string }> = [];
  for (const message of event.Records) {
    try {
      await replayer.replay(JSON.parse(message.body) as UsageRecord);
    } catch (error) {
      replayer.logger.error('usage record replay failed', {
        messageId: message.messageId,
        error: { name: (error as Error).name, message: (error as Error).message },
      });
      failures.push({ itemIdentifier: message.messageId });
    }
  }
  return { batchItemFailures: failures };
}
