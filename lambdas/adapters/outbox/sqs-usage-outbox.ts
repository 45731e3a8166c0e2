/**
 * `UsageOutbox` on SQS (AWS): records wait in the spill queue while the usage table is unavailable; a
 * Lambda on the queue writes them back (`handlers/usage-replay.ts`), and what keeps failing ends in the
 * queue's dead-letter queue. An alarm watches records waiting.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { UsageOutbox } from '../../core/metering/ports';
import type { UsageRecord } from '../../core/metering/usage-record';

export class SqsUsageOutbox implements UsageOutbox {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async spill(records: UsageRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += 10) {
      const batch = records.slice(start, start + 10);
      const out = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((record, i) => ({ Id: String(i), MessageBody: JSON.stringify(record) })),
        }),
      );
      if (out.Failed && out.Failed.length > 0) {
        throw new Error(`SQS refused ${out.Failed.length} usage records: ${out.Failed.map((f) => f.Code).join(', ')}`);
      }
    }
  }
}
