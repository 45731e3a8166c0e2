import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsUsageOutbox } from '../../../lambdas/adapters/outbox/sqs-usage-outbox';
import type { UsageRecord } from '../../../lambdas/core/metering/usage-record';

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/ho-usage-spill';
const record = (i: number) => ({ requestId: `req_${i}`, status: 200 }) as unknown as UsageRecord;

beforeEach(() => sqs.reset());

describe('SqsUsageOutbox', () => {
  it('sends records as JSON messages, ten per batch', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    await new SqsUsageOutbox(new SQSClient({ region: 'eu-west-1' }), QUEUE).spill(Array.from({ length: 12 }, (_, i) => record(i)));
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((input) => input.Entries?.length)).toEqual([10, 2]);
    expect(calls[0]?.QueueUrl).toBe(QUEUE);
    expect(JSON.parse(calls[1]!.Entries![1]!.MessageBody!)).toEqual({ requestId: 'req_11', status: 200 });
  });

  it('fails when SQS refuses part of a batch, so the caller knows the records are not safe', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });
    await expect(new SqsUsageOutbox(new SQSClient({ region: 'eu-west-1' }), QUEUE).spill([record(1)])).rejects.toThrow(/InternalError/);
  });
});
