/**
 * The Lambda on the usage spill queue (`lambdas/handlers/usage-replay.ts`) on dynalite: it writes the
 * records back, reports the ones it could not write as batch item failures, and hands back to the
 * queue, as failures, the records it has no time left to write, instead of timing out the invocation.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startTestDynamo, type TestDynamo } from '../helpers/dynamo';
import { usageRecord } from '../helpers/usage-records';

let dynamo: TestDynamo;
const saved = { ...process.env };
beforeAll(async () => {
  dynamo = await startTestDynamo();
  Object.assign(process.env, {
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_REGION: 'eu-west-1',
    LOG_LEVEL: 'SILENT',
    DYNAMODB_TIMEOUT_MS: '2000',
    USAGE_TABLE: dynamo.table('usage'),
    USAGE_AGGREGATES_TABLE: dynamo.table('usage-aggregates'),
    USAGE_AGGREGATION: 'stream',
  });
});
afterAll(async () => {
  process.env = saved;
  await dynamo.close();
});

const message = (requestId: string) => ({ messageId: `m-${requestId}`, body: JSON.stringify(usageRecord({ requestId })) });
const stored = async (requestId: string) =>
  (await dynamo.doc.send(new GetCommand({ TableName: dynamo.table('usage'), Key: { requestId } }))).Item;

it('writes records back, fails an unreadable one, and returns those it has no time left for', async () => {
  const { handler } = await import('../../lambdas/handlers/usage-replay');
  // One record can take 4 attempts of 2 s and 0.7 s of waits between them (8.7 s), and 1 s is kept to answer.
  const remaining = [60_000, 60_000, 9_699, 60_000];
  const context = { getRemainingTimeInMillis: () => remaining.shift() ?? 0 };
  const event = { Records: [message('replay-1'), { messageId: 'm-garbled', body: '{not json' }, message('replay-2'), message('replay-3')] };
  expect(await handler(event, context)).toEqual({
    batchItemFailures: [{ itemIdentifier: 'm-garbled' }, { itemIdentifier: 'm-replay-2' }, { itemIdentifier: 'm-replay-3' }],
  });
  expect(await stored('replay-1')).toMatchObject({ requestId: 'replay-1' });
  expect(await stored('replay-2')).toBeUndefined();
  // Delivered again with time to spare: written once, and a record already there is kept.
  expect(
    await handler({ Records: [message('replay-1'), message('replay-2'), message('replay-3')] }, { getRemainingTimeInMillis: () => 60_000 }),
  ).toEqual({
    batchItemFailures: [],
  });
  for (const id of ['replay-1', 'replay-2', 'replay-3']) expect(await stored(id)).toMatchObject({ requestId: id });
});
