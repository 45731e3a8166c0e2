/**
 * Lambda on the usage spill queue: writes back the usage records the gateway could not store when
 * DynamoDB was unavailable. Idempotent (a record already stored is kept, not counted twice); a record
 * that still cannot be written is reported as a batch item failure and retried, then dead-lettered.
 */
import { errorFields } from '../core/errors';
import type { UsageRecord } from '../core/metering/usage-record';
import { loadConfig } from '../shared/config';
import { buildReplayer } from '../shared/container';

const replayer = buildReplayer(loadConfig('aws'));

/** Kept back from the invocation's time to answer with the failures. */
const ANSWER_MS = 1_000;

interface SqsEvent {
  Records: Array<{ messageId: string; body: string }>;
}

export async function handler(
  event: SqsEvent,
  context?: { getRemainingTimeInMillis(): number },
): Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }> {
  const failures: Array<{ itemIdentifier: string }> = [];
  for (const [index, message] of event.Records.entries()) {
    // With a hung table one record may take its every attempt: those that could not finish in time go
    // back to the queue now, as failures, instead of timing the invocation out (which retries them all).
    if (context && context.getRemainingTimeInMillis() < replayer.longestReplayMs + ANSWER_MS) {
      const left = event.Records.slice(index).map((m) => ({ itemIdentifier: m.messageId }));
      replayer.logger.warn('usage record replay: no time left in this invocation, the rest go back to the queue', { left: left.length });
      failures.push(...left);
      break;
    }
    try {
      await replayer.replay(JSON.parse(message.body) as UsageRecord);
    } catch (error) {
      replayer.logger.error('usage record replay failed', {
        messageId: message.messageId,
        error: errorFields(error),
      });
      failures.push({ itemIdentifier: message.messageId });
    }
  }
  return { batchItemFailures: failures };
}
