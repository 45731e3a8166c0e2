/**
 * The request path's writes on the low-level client with a cached handler stack (`CachedWrites`): the
 * same items and answers as through the document client, on dynalite, call after call (a cached
 * handler must never keep an earlier call's input); the exact request DynamoDB gets; and a failed
 * condition's old item reaching the counter store (a path dynalite cannot exercise).
 */
import { BatchWriteItemCommand, ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbCounterStore } from '../../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { CachedWrites, documentWrites, type ItemWrites } from '../../../lambdas/adapters/dynamodb/item-writes';
import { putIfAbsent } from '../../../lambdas/adapters/dynamodb/queries';
import { startTestDynamo, type TestDynamo } from '../../helpers/dynamo';

describe('on dynalite', () => {
  let dynamo: TestDynamo;
  let cached: CachedWrites;
  let documents: DynamoDBDocumentClient;
  beforeAll(async () => {
    dynamo = await startTestDynamo();
    const local = { region: 'us-east-1', endpoint: dynamo.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    cached = new CachedWrites(new DynamoDBClient({ ...local, cacheMiddleware: true }));
    // The document client as the gateway configures it.
    documents = DynamoDBDocumentClient.from(new DynamoDBClient(local), { marshallOptions: { removeUndefinedValues: true } });
  });
  afterAll(async () => {
    cached.client.destroy();
    documents.destroy();
    await dynamo.close();
  });

  /** A run of writes of every shape the stores send, each with its own key and values; what each returned, and the items left. */
  async function script(writes: ItemWrites, prefix: string) {
    const table = dynamo.table('rate-limits');
    const answers: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      answers.push(
        await writes.update({
          TableName: table,
          Key: { pk: `${prefix}${i}` },
          UpdateExpression: 'SET #w = :w, #label = :label ADD #n :n',
          ExpressionAttributeNames: { '#w': 'mw', '#n': 'mn', '#label': 'label' },
          ExpressionAttributeValues: { ':w': 100 + i, ':n': i + 1, ':label': `call ${i}` },
          ReturnValues: 'ALL_NEW',
        }),
      );
    }
    // A failed condition, then a write with no values returned.
    answers.push(
      await writes
        .update({
          TableName: table,
          Key: { pk: `${prefix}0` },
          UpdateExpression: 'ADD #n :n',
          ConditionExpression: '#n < :max',
          ExpressionAttributeNames: { '#n': 'mn' },
          ExpressionAttributeValues: { ':n': 1, ':max': 1 },
          ReturnValues: 'ALL_NEW',
        })
        .catch((error: unknown) => (error instanceof ConditionalCheckFailedException ? 'condition failed' : error)),
    );
    answers.push(
      await writes.update({
        TableName: table,
        Key: { pk: `${prefix}1` },
        UpdateExpression: 'REMOVE #label',
        ExpressionAttributeNames: { '#label': 'label' },
      }),
    );
    // A put only if absent, twice, with nested values, undefined ones (left out), a set, an empty string and a null.
    const record = {
      pk: `${prefix}r`,
      nested: { list: [1, 'two', { three: 3, gone: undefined }], flag: true, gone: undefined },
      tags: new Set(['a', 'b']),
      empty: '',
      nothing: null,
      gone: undefined,
    };
    answers.push(await putIfAbsent(writes, table, record, 'pk'), await putIfAbsent(writes, table, { ...record, nested: {} }, 'pk'));
    // A batch of unconditional puts: one new item, one over an existing item (replaced whole).
    answers.push(
      await writes.batchPut(table, [
        { pk: `${prefix}b`, n: 1, gone: undefined, list: [{ gone: undefined, kept: 'yes' }] },
        { pk: `${prefix}2`, replaced: true },
      ]),
    );
    const items = [];
    for (const key of ['0', '1', '2', 'r', 'b']) {
      const { pk: _pk, ...item } = (await dynamo.doc.send(new GetCommand({ TableName: table, Key: { pk: `${prefix}${key}` } }))).Item ?? {};
      items.push(item);
    }
    return { answers: answers.map((a) => (a && typeof a === 'object' && 'pk' in a ? { ...a, pk: 'key' } : a)), items };
  }

  it('writes and answers exactly as the document client does', async () => {
    // The document client as the gateway configures it.
    const viaDocument = await script(
      documentWrites(DynamoDBDocumentClient.from(dynamo.doc, { marshallOptions: { removeUndefinedValues: true } })),
      'doc-',
    );
    const viaCached = await script(cached, 'cached-');
    expect(viaCached).toEqual(viaDocument);
    expect(viaCached.answers).toEqual([
      { pk: 'key', mw: 100, mn: 1, label: 'call 0' },
      { pk: 'key', mw: 101, mn: 2, label: 'call 1' },
      { pk: 'key', mw: 102, mn: 3, label: 'call 2' },
      'condition failed',
      undefined,
      true,
      false,
      [],
    ]);
    expect(viaCached.items[2]).toEqual({ replaced: true });
    expect(viaCached.items[4]).toEqual({ n: 1, list: [{ kept: 'yes' }] });
    expect(viaCached.items[3]).toEqual({
      nested: { list: [1, 'two', { three: 3 }], flag: true },
      tags: new Set(['a', 'b']),
      empty: '',
      nothing: null,
    });
  });

  it('keeps each of many concurrent writes to its own input (one handler stack serves them all)', async () => {
    const table = dynamo.table('rate-limits');
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        cached.update({
          TableName: table,
          Key: { pk: `concurrent-${i}` },
          UpdateExpression: 'SET #v = :v',
          ExpressionAttributeNames: { '#v': 'value' },
          ExpressionAttributeValues: { ':v': i * 7 },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    expect(answers).toEqual(Array.from({ length: 60 }, (_, i) => ({ pk: `concurrent-${i}`, value: i * 7 })));
    expect((cached.client as unknown as { handlers?: WeakMap<object, unknown> }).handlers?.has(UpdateItemCommand)).toBe(true);
  });

  it('admits and refuses through the counter store like the document client', async () => {
    const table = dynamo.table('rate-limits');
    const stores = [new DynamoDbCounterStore(dynamo.doc, table), new DynamoDbCounterStore(dynamo.doc, table, cached)];
    const results = [];
    for (const [i, store] of stores.entries()) {
      const key = `s${i}`;
      const add = () => store.write(key, [{ kind: 'add', name: 'm', window: 7, add: 1, limit: 2 }], 1_900_000_000);
      results.push([
        await store.write(key, [{ kind: 'reset', name: 'm', window: 7, expected: null, add: 1 }], 1_900_000_000),
        await add(),
        await add(),
      ]);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[1]!.map((r) => r.ok)).toEqual([true, true, false]);
    expect(results[1]![1]).toEqual({ ok: true, state: { m: { window: 7, count: 2, violations: 0 } } });
  });
});

describe('the request DynamoDB gets', () => {
  let mock: ReturnType<typeof mockClient>;
  beforeAll(() => {
    mock = mockClient(DynamoDBClient);
  });
  beforeEach(() => mock.reset());
  afterAll(() => mock.restore());

  it('is the update with its values marshalled, and the answer unmarshalled', async () => {
    mock.on(UpdateItemCommand).resolves({ Attributes: marshall({ pk: 'k', mn: 2 }) });
    const writes = new CachedWrites(new DynamoDBClient({ region: 'eu-west-1', cacheMiddleware: true }));
    const out = await writes.update({
      TableName: 'rate-limits',
      Key: { pk: 'k' },
      UpdateExpression: 'ADD #n :n',
      ConditionExpression: '#n < :max',
      ExpressionAttributeNames: { '#n': 'mn' },
      ExpressionAttributeValues: { ':n': 1, ':max': 5, ':unused': undefined },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(out).toEqual({ pk: 'k', mn: 2 });
    expect(mock.commandCalls(UpdateItemCommand)[0]!.args[0].input).toEqual({
      TableName: 'rate-limits',
      Key: { pk: { S: 'k' } },
      UpdateExpression: 'ADD #n :n',
      ConditionExpression: '#n < :max',
      ExpressionAttributeNames: { '#n': 'mn' },
      ExpressionAttributeValues: { ':n': { N: '1' }, ':max': { N: '5' } },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('is one BatchWriteItem of marshalled puts, and gives back the unprocessed items unmarshalled', async () => {
    mock.on(BatchWriteItemCommand).resolves({
      UnprocessedItems: { usage: [{ PutRequest: { Item: marshall({ requestId: 'b', n: 2 }) } }] },
    });
    const writes = new CachedWrites(new DynamoDBClient({ region: 'eu-west-1', cacheMiddleware: true }));
    const unprocessed = await writes.batchPut('usage', [
      { requestId: 'a', n: 1, gone: undefined },
      { requestId: 'b', n: 2 },
    ]);
    expect(unprocessed).toEqual([{ requestId: 'b', n: 2 }]);
    expect(mock.commandCalls(BatchWriteItemCommand)[0]!.args[0].input).toEqual({
      RequestItems: {
        usage: [
          { PutRequest: { Item: { requestId: { S: 'a' }, n: { N: '1' } } } },
          { PutRequest: { Item: { requestId: { S: 'b' }, n: { N: '2' } } } },
        ],
      },
    });
  });

  it("brings a failed condition's old item to the counter store, which refuses without a read", async () => {
    mock.on(UpdateItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: marshall({ pk: 'k', mw: 7, mn: 2 }),
      }),
    );
    const store = new DynamoDbCounterStore(
      // Never used: the failure carries the item.
      undefined as never,
      'rate-limits',
      new CachedWrites(new DynamoDBClient({ region: 'eu-west-1', cacheMiddleware: true })),
    );
    const result = await store.write('k', [{ kind: 'add', name: 'm', window: 7, add: 1, limit: 2 }], 1_900_000_000);
    expect(result).toEqual({ ok: false, state: { m: { window: 7, count: 2, violations: 0 } } });
    expect(mock.calls()).toHaveLength(1);
  });
});

test('refuses a client without a cached handler stack (it would be no cheaper)', () => {
  expect(() => new CachedWrites(new DynamoDBClient({ region: 'eu-west-1' }))).toThrow(/cacheMiddleware/);
});

test('gives back the unprocessed items of a batch through the document client too', async () => {
  const documents = mockClient(DynamoDBDocumentClient);
  try {
    documents.on(BatchWriteCommand).resolves({ UnprocessedItems: { usage: [{ PutRequest: { Item: { requestId: 'b', n: 2 } } }] } });
    const writes = documentWrites(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })));
    expect(await writes.batchPut('usage', [{ requestId: 'a' }, { requestId: 'b', n: 2 }])).toEqual([{ requestId: 'b', n: 2 }]);
    expect(documents.commandCalls(BatchWriteCommand)[0]!.args[0].input).toEqual({
      RequestItems: { usage: [{ PutRequest: { Item: { requestId: 'a' } } }, { PutRequest: { Item: { requestId: 'b', n: 2 } } }] },
    });
  } finally {
    documents.restore();
  }
});
