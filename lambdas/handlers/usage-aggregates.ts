/**
 * Lambda on the usage table's DynamoDB stream: applies each batch of new usage records to the
 * aggregates (one update per cell) and checks the budgets. The event source mapping has a tumbling
 * window so each event names its shard: every cell update is guarded by that shard's sequence numbers,
 * so a re-delivered or bisected batch never counts a record twice. A batch that fails fails the
 * invocation: Lambda bisects it and retries the halves (the cells a failed try did update skip those
 * records), in order, until the records are too old; then their position goes to the dead-letter queue.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { recordFromItem } from '../adapters/dynamodb/dynamodb-usage-store';
import { AggregationError, padSequence } from '../core/metering/aggregation';
import { errorFields } from '../core/errors';
import { loadConfig } from '../shared/config';
import { buildStreamAggregator } from '../shared/container';

const { aggregator, logger } = buildStreamAggregator(loadConfig('aws'));

export interface UsageStreamEvent {
  Records: Array<{
    eventName?: string;
    dynamodb?: { NewImage?: Record<string, AttributeValue>; SequenceNumber?: string };
  }>;
  /** Present with a tumbling window. */
  shardId?: string;
  state?: Record<string, string>;
}

export interface UsageStreamResponse {
  state: Record<string, string>;
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

export async function handler(event: UsageStreamEvent): Promise<UsageStreamResponse> {
  const shard = event.shardId;
  if (!shard) throw new Error('the usage stream event names no shardId: the event source mapping needs a tumbling window');
  const inserts = event.Records.filter((r) => r.eventName === 'INSERT' && r.dynamodb?.NewImage && r.dynamodb.SequenceNumber);
  const batch = inserts.map((r) => ({
    record: recordFromItem(unmarshall(r.dynamodb!.NewImage!)),
    position: { shard, sequence: padSequence(r.dynamodb!.SequenceNumber!) },
  }));
  if (batch.length === 0) return { state: {}, batchItemFailures: [] };
  try {
    const { cells } = await aggregator.apply(batch);
    logger.info('usage aggregated', { records: batch.length, cells, shard });
    return { state: {}, batchItemFailures: [] };
  } catch (error) {
    logger.error('usage aggregation failed: the batch is bisected and retried', {
      records: batch.length,
      shard,
      error: errorFields(error),
      failures: error instanceof AggregationError ? error.failures.map(errorFields) : undefined,
    });
    // A function error, not a partial response: only errors make Lambda bisect the batch.
    throw error;
  }
}
