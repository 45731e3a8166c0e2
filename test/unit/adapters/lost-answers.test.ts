/**
 * A conditional write whose answer was lost: the SDK sends it again, and the condition then fails on
 * the write's own first landing. The stores tell that apart from another writer's change by the item
 * the failure returns (`ReturnValuesOnConditionCheckFailure`), which dynalite cannot exercise.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbHealthStore } from '../../../lambdas/adapters/dynamodb/dynamodb-health-store';
import { DynamoDbIdempotencyStore } from '../../../lambdas/adapters/dynamodb/dynamodb-idempotency-store';
import { DynamoDbProviderConfigStore } from '../../../lambdas/adapters/dynamodb/dynamodb-provider-config-store';
import { DynamoDbUsageStore } from '../../../lambdas/adapters/dynamodb/dynamodb-usage-store';
import type { ProviderConfigDocument } from '../../../lambdas/core/ai/provider-configs';
import type { TargetState } from '../../../lambdas/core/health/ports';

const dynamo = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }), { marshallOptions: { removeUndefinedValues: true } });
const failedOn = (item: Record<string, unknown>) =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: marshall(item) });

beforeEach(() => dynamo.reset());

describe('the provider configurations', () => {
  const store = new DynamoDbProviderConfigStore(doc, 'health');
  const next: ProviderConfigDocument = {
    version: 4,
    configs: {
      groq: {
        type: 'openai-compatible',
        baseURL: 'https://api.groq.com/openai/v1',
        models: ['llama'],
        default: false,
        active: true,
        priority: 0,
        keyVersion: 'k1',
        updatedAt: '2026-11-27T10:00:00.000Z',
        updatedBy: 'key_admin',
        endpoint: undefined,
      },
    },
  };

  it('counts the write as made when the condition finds the document it wrote', async () => {
    dynamo.on(PutCommand).rejects(failedOn({ pk: 'provider-configs', version: 4, configs: JSON.parse(JSON.stringify(next.configs)) }));
    expect(await store.write(next)).toBe(true);
    expect(dynamo.commandCalls(PutCommand)[0]!.args[0].input).toMatchObject({
      ConditionExpression: '#v = :previous',
      ExpressionAttributeValues: { ':previous': 3 },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(dynamo.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('reports a lost race when the condition finds another change', async () => {
    dynamo.on(PutCommand).rejects(failedOn({ pk: 'provider-configs', version: 4, configs: {} }));
    expect(await store.write(next)).toBe(false);
  });
});

describe('the provider health states', () => {
  const store = new DynamoDbHealthStore(doc, 'health');
  const claimed: TargetState = {
    v: 8,
    state: 'open',
    openUntil: 1_000,
    openings: 1,
    probe: { by: 'gw-a', until: 16_000 },
    changedAt: 1_000,
  } as TargetState;

  it('counts a probe claim as won when the condition finds the claim it wrote', async () => {
    dynamo.on(UpdateCommand).rejects(failedOn({ pk: 'states', 's:openai/gpt-4o-mini': claimed }));
    expect(await store.transition('openai/gpt-4o-mini', 7, claimed)).toBe(true);
    expect(dynamo.commandCalls(UpdateCommand)[0]!.args[0].input).toMatchObject({ ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
  });

  it('reports the claim lost when the condition finds another instance’s', async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(failedOn({ pk: 'states', 's:openai/gpt-4o-mini': { ...claimed, probe: { by: 'gw-b', until: 16_000 } } }));
    expect(await store.transition('openai/gpt-4o-mini', 7, claimed)).toBe(false);
  });
});

describe('the budget alert markers', () => {
  const store = new DynamoDbUsageStore(doc, { records: 'usage', aggregates: 'aggregates' });

  it('counts a marker as claimed when the condition finds its own claim, and not another’s', async () => {
    // The first attempt landed and its answer was lost: the condition finds the marker this claim wrote.
    dynamo.on(PutCommand).callsFake((input: { Item: Record<string, unknown> }) => {
      throw failedOn(input.Item);
    });
    expect(await store.claim('budget#day#2026-11-27#80', 2e9)).toBe(true);
    expect(dynamo.commandCalls(PutCommand)[0]!.args[0].input).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    dynamo.reset();
    dynamo.on(PutCommand).rejects(failedOn({ pk: 'alert', sk: 'budget#day#2026-11-27#80', claimant: 'another instance' }));
    expect(await store.claim('budget#day#2026-11-27#80', 2e9)).toBe(false);
  });
});

describe('the idempotency claims', () => {
  const store = new DynamoDbIdempotencyStore(doc, 'limits');
  const landed = () =>
    dynamo.on(PutCommand).callsFake((input: { Item: Record<string, unknown> }) => {
      throw failedOn(input.Item);
    });

  it('takes its own claim, found by the condition, as claimed, and its own stored result as stored', async () => {
    landed();
    const claim = { owner: 'req-a', fingerprint: 'f', now: 1_000, leaseUntil: 25_000, expiresAt: 2e9 };
    expect(await store.claim('idem#u#k', claim)).toEqual({ state: 'claimed' });
    expect(await store.complete('idem#u#k', 'req-a', { fingerprint: 'f', status: 202, body: '{}', expiresAt: 2e9 })).toBe(true);
    expect(dynamo.commandCalls(PutCommand)[1]!.args[0].input).toMatchObject({ ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
  });

  it('leaves another request’s claim and result to it', async () => {
    dynamo
      .on(PutCommand)
      .rejects(failedOn({ pk: 'idem#u#k', state: 'pending', fingerprint: 'f', owner: 'req-b', leaseUntil: 25_000, expiresAt: 2e9 }));
    const claim = { owner: 'req-a', fingerprint: 'f', now: 1_000, leaseUntil: 25_000, expiresAt: 2e9 };
    expect(await store.claim('idem#u#k', claim)).toEqual({ state: 'in_progress', fingerprint: 'f' });
    expect(await store.complete('idem#u#k', 'req-a', { fingerprint: 'f', status: 202, body: '{}', expiresAt: 2e9 })).toBe(false);
  });
});
