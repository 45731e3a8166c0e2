/**
 * What the counter store sends to DynamoDB when a condition fails, and how it uses the item DynamoDB
 * returns with the failure (`ReturnValuesOnConditionCheckFailure`), a path dynalite cannot exercise:
 * it does not return the item.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbCounterStore } from '../../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { CounterEngine, type FixedSpec } from '../../../lambdas/core/rate-limit/counters';
import { windowIndex } from '../../../lambdas/core/rate-limit/windows';
import { ScriptedRandom } from '../../helpers/fakes';

// The document client passes the failure's \`Item\` through as DynamoDB sends it (attribute values), and
// unmarshalls \`Attributes\` and \`Item\` of successful answers.
const dynamo = mockClient(DynamoDBDocumentClient);
const NOW = Date.UTC(2026, 10, 26, 12, 0, 30);
const KEY = 'rl#ai_requests#u1';
const spec: FixedSpec = { name: 'm', window: 'minute', limit: 2, add: 1 };
const engine = () =>
  new CounterEngine(
    new DynamoDbCounterStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })), 'rate-limits'),
    new ScriptedRandom([0.5]),
  );
const conditionFailed = (item: Record<string, unknown>) =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: marshall(item) });

beforeEach(() => dynamo.reset());

test('a failed condition asks for the old item, and a full window in it refuses without a read', async () => {
  dynamo.on(UpdateCommand).rejects(conditionFailed({ pk: KEY, mw: windowIndex('minute', NOW), mn: 2, mv: 0 }));
  const result = await engine().admit(KEY, [spec], NOW, 0);
  expect(result).toMatchObject({ admitted: false, blocking: ['m'] });
  const updates = dynamo.commandCalls(UpdateCommand);
  expect(updates).toHaveLength(1);
  expect(updates[0]!.args[0].input).toMatchObject({
    TableName: 'rate-limits',
    Key: { pk: KEY },
    ReturnValues: 'ALL_NEW',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
  expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
});

test('an item with room plans the next write from it, pinned to its window and count', async () => {
  const window = windowIndex('minute', NOW);
  dynamo
    .on(UpdateCommand)
    .rejectsOnce(conditionFailed({ pk: KEY, mw: window, mn: 1, mv: 0 }))
    .resolves({ Attributes: { pk: KEY, mw: window, mn: 2, mv: 0 } });
  const result = await engine().admit(KEY, [spec], NOW, 0);
  expect(result).toMatchObject({ admitted: true, state: { m: { window, count: 2 } } });
  const second = dynamo.commandCalls(UpdateCommand)[1]!.args[0].input;
  const values = Object.values(second.ExpressionAttributeValues ?? {});
  expect(second.ConditionExpression).toMatch(/</); // count < limit
  expect(values).toEqual(expect.arrayContaining([window, 2]));
  expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
});

test('without the item (an engine that does not return it) it reads once to know', async () => {
  dynamo.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
  dynamo.on(GetCommand).resolves({ Item: { pk: KEY, mw: windowIndex('minute', NOW), mn: 2, mv: 0 } });
  const result = await engine().admit(KEY, [spec], NOW, 0);
  expect(result).toMatchObject({ admitted: false });
  expect(dynamo.commandCalls(GetCommand)).toHaveLength(1);
  expect(dynamo.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({ ConsistentRead: true });
});
