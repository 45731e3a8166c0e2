/**
 * Batched aggregation on dynalite: a stream delivers at least once, in batches that can fail half-way,
 * be retried, bisected and re-delivered. Whatever the schedule, every record counts exactly once.
 */
import { usageRecord } from '../helpers/usage-records';
import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { DynamoDbUsageStore, markerName } from '../../lambdas/adapters/dynamodb/dynamodb-usage-store';
import { BudgetAlerts } from '../../lambdas/core/metering/alerts';
import {
  padSequence,
  UsageAggregator,
  type AggregateStore,
  type CellAddition,
  type CellGuard,
  type StreamPosition,
} from '../../lambdas/core/metering/aggregation';
import type { UsageRecord } from '../../lambdas/core/metering/usage-record';
import { DynamoDbCounterStore } from '../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { RateLimiter } from '../../lambdas/core/rate-limit/rate-limiter';
import { parsePolicies } from '../../lambdas/core/rate-limit/policies';
import { windowIndex } from '../../lambdas/core/rate-limit/windows';
import { CapturingAlerts, FakeClock, ScriptedRandom } from '../helpers/fakes';
import { startTestDynamo, type TestDynamo } from '../helpers/dynamo';

let dynamo: TestDynamo;
let store: DynamoDbUsageStore;
const NOW = Date.UTC(2026, 10, 26, 12);
const SHARDS = ['shardId-00000001764158400000-0a1b2c3d', 'shardId-00000001764158400001-4e5f6a7b'];

let shardedStore: DynamoDbUsageStore;
let limiter: RateLimiter;
const RESERVED = 1000;
beforeAll(async () => {
  dynamo = await startTestDynamo();
  limiter = new RateLimiter(
    new DynamoDbCounterStore(dynamo.doc, dynamo.table('rate-limits')),
    new FakeClock(NOW),
    parsePolicies({ quotas: { free: { day: 10_000_000, month: 100_000_000 } } }),
    new ScriptedRandom(),
  );
  shardedStore = new DynamoDbUsageStore(
    dynamo.doc,
    { records: dynamo.table('usage'), aggregates: dynamo.table('usage-aggregates') },
    { shards: 3, random: { next: Math.random, bytes: (n) => new Uint8Array(n) } },
    () => NOW,
  );
  store = new DynamoDbUsageStore(
    dynamo.doc,
    { records: dynamo.table('usage'), aggregates: dynamo.table('usage-aggregates') },
    undefined,
    () => NOW,
  );
});
afterAll(() => dynamo.close());

function record(
  day: string,
  i: number,
  user: string,
  provider: 'openai' | 'azure-openai',
  cost: number,
  deltaTokens?: number,
): UsageRecord {
  return usageRecord({
    ...(deltaTokens === undefined ? {} : { quota: { day: windowIndex('day', NOW), month: windowIndex('month', NOW), deltaTokens } }),
    requestId: `req_${day}_${i}`,
    userId: user,
    provider,
    inputTokens: 10 + i,
    outputTokens: 20,
    costMicros: cost,
    timeToFirstTokenMs: 50,
    createdAt: `${day}T12:00:00.000Z`,
  });
}

/**
 * A store that fails the updates the schedule says: before the write (a throttled call) or after it
 * (a timeout whose write had in fact been applied).
 */
class FlakyStore implements AggregateStore {
  failures: Array<0 | 1 | 2> = [];
  constructor(private readonly inner: AggregateStore = store) {}
  async add(addition: CellAddition, guard: CellGuard | undefined) {
    const failure = this.failures.shift();
    if (failure === 1) throw new Error('ProvisionedThroughputExceededException');
    const result = await this.inner.add(addition, guard);
    if (failure === 2) throw new Error('TimeoutError: the answer was lost');
    return result;
  }
}

type Delivery = Array<{ record: UsageRecord; position: StreamPosition }>;

async function dayTotal(day: string): Promise<number> {
  const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
  const out = await dynamo.doc.send(new GetCommand({ TableName: dynamo.table('usage-aggregates'), Key: { pk: `d#${day}`, sk: 'total' } }));
  return Number(out.Item?.['costMicros'] ?? 0);
}

async function totals(day: string) {
  const rows = await store.aggregates(day, day);
  const sum = (kind: string, field: 'requests' | 'costMicros' | 'inputTokens') =>
    rows.filter((r) => r.kind === kind).reduce((n, r) => n + r[field], 0);
  return {
    requests: sum('detail', 'requests'),
    cost: sum('detail', 'costMicros'),
    input: sum('detail', 'inputTokens'),
    userRequests: sum('user', 'requests'),
  };
}

/** A user's day and month token counters as the limiter holds them. */
async function quotaUsed(userId: string): Promise<{ day: number; month: number }> {
  const { tokens } = (await limiter.status(userId, 'free')).quota;
  return { day: tokens.day.used, month: tokens.month.used };
}

test('every record and token settlement counts exactly once however the stream splits, fails, bisects and re-delivers batches', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          user: fc.constantFrom('u1', 'u2', 'u3'),
          azure: fc.boolean(),
          cost: fc.integer({ min: 0, max: 5000 }),
          // Real use minus the reservation: refunds of unused reservations and charges beyond them.
          delta: fc.option(fc.integer({ min: -RESERVED, max: 3000 }), { nil: undefined }),
        }),
        {
          minLength: 1,
          maxLength: 24,
        },
      ),
      fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 24 }),
      fc.array(fc.constantFrom<0 | 1 | 2>(0, 0, 1, 2), { maxLength: 60 }),
      fc.array(fc.nat({ max: 3 }), { maxLength: 24 }),
      fc.boolean(),
      async (specs, batchSizes, failures, redeliveries, sharded) => {
        run += 1;
        const day = `2026-10-${String((run % 28) + 1).padStart(2, '0')}`;
        await cleanDay(day);
        // Every request was admitted first, reserving its tokens (the users are new to this run).
        const userOf = (user: string) => `${user}-run${run}`;
        for (const s of specs) {
          const admitted = await limiter.admit({ userId: userOf(s.user), plan: 'free', policy: 'ai_requests', reserveTokens: RESERVED });
          expect(admitted.allowed).toBe(true);
        }
        const records = specs.map((s, i) => ({
          record: record(day, i, userOf(s.user), s.azure ? 'azure-openai' : 'openai', s.cost, s.delta),
          // Two shards, each with its own increasing sequence numbers of varying length.
          position: { shard: SHARDS[i % 2]!, sequence: padSequence(String(9 ** (Math.floor(i / 2) + 2))) },
        }));
        // Detail cells spread over write shards (picked by stream shard under a guard), or not.
        const flaky = new FlakyStore(sharded ? shardedStore : store);
        flaky.failures = [...failures];
        const aggregator = new UsageAggregator(
          flaky,
          new BudgetAlerts({ levels: [] }, new CapturingAlerts(), store, { now: () => NOW, sleep: async () => undefined }),
          { day: true, month: false, userDay: false, userMonth: false },
          { error: () => undefined },
          limiter,
        );
        // The two shards are consumed at the same time, each in order (as Lambda does, one batch at a
        // time per shard); both add to the same cells.
        await Promise.all(
          SHARDS.map(async (shard) => {
            const ofShard = records.filter((r) => r.position.shard === shard);
            const delivered: Delivery[] = [];
            for (let at = 0, b = 0; at < ofShard.length; b++) {
              const batch = ofShard.slice(at, at + batchSizes[b % batchSizes.length]!);
              await deliver(aggregator, batch);
              delivered.push(batch);
              at += batch.length;
              // An old batch of this shard comes again (a retry after a timeout that had in fact succeeded).
              const again = redeliveries[b % Math.max(1, redeliveries.length)];
              if (again !== undefined && again < delivered.length) await deliver(aggregator, delivered[again]!);
            }
          }),
        );
        const want = {
          requests: records.length,
          cost: records.reduce((n, r) => n + (r.record.costMicros ?? 0), 0),
          input: records.reduce((n, r) => n + r.record.inputTokens, 0),
          userRequests: records.length,
        };
        expect(await totals(day)).toEqual(want);
        expect(await dayTotal(day)).toBe(want.cost);
        for (const user of new Set(specs.map((s) => s.user))) {
          const own = specs.filter((s) => s.user === user);
          const used = own.length * RESERVED + own.reduce((n, s) => n + (s.delta ?? 0), 0);
          expect(await quotaUsed(userOf(user))).toEqual({ day: used, month: used });
        }
      },
    ),
    { numRuns: 25 },
  );
});

/** Like Lambda: a failed batch is bisected and each half retried until it goes through. */
async function deliver(aggregator: UsageAggregator, batch: Delivery): Promise<void> {
  try {
    await aggregator.apply(batch);
  } catch {
    if (batch.length === 1) return deliver(aggregator, batch);
    const half = Math.ceil(batch.length / 2);
    await deliver(aggregator, batch.slice(0, half));
    await deliver(aggregator, batch.slice(half));
  }
}

async function cleanDay(day: string): Promise<void> {
  const rows = await dynamo.doc.send(
    new (await import('@aws-sdk/lib-dynamodb')).QueryCommand({
      TableName: dynamo.table('usage-aggregates'),
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `d#${day}` },
    }),
  );
  const { DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
  for (const item of rows.Items ?? [])
    await dynamo.doc.send(new DeleteCommand({ TableName: dynamo.table('usage-aggregates'), Key: { pk: item['pk'], sk: item['sk'] } }));
}

describe('lambdas/handlers/usage-aggregates.ts', () => {
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
  });

  it('applies INSERT records of a stream event once, and a re-delivered event adds nothing', async () => {
    Object.assign(process.env, {
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      AWS_REGION: 'eu-west-1',
      LOG_LEVEL: 'SILENT',
      USAGE_TABLE: dynamo.table('usage'),
      USAGE_AGGREGATES_TABLE: dynamo.table('usage-aggregates'),
      RATE_LIMITS_TABLE: dynamo.table('rate-limits'),
    });
    const { handler } = await import('../../lambdas/handlers/usage-aggregates');
    const day = '2026-09-01';
    const image = (i: number) =>
      marshall(Object.fromEntries(Object.entries(record(day, i, 'u1', 'openai', 1000)).filter(([, v]) => v !== null)), {
        removeUndefinedValues: true,
      });
    const event = {
      shardId: SHARDS[0]!,
      state: {},
      Records: [
        { eventName: 'INSERT', dynamodb: { NewImage: image(1), SequenceNumber: '100000000000000000001' } },
        { eventName: 'INSERT', dynamodb: { NewImage: image(2), SequenceNumber: '100000000000000000002' } },
        { eventName: 'MODIFY', dynamodb: { NewImage: image(2), SequenceNumber: '100000000000000000003' } },
        { eventName: 'REMOVE', dynamodb: { SequenceNumber: '100000000000000000004' } },
      ],
    };
    expect(await handler(event)).toEqual({ state: {}, batchItemFailures: [] });
    expect(await handler(event)).toEqual({ state: {}, batchItemFailures: [] });
    expect(await totals(day)).toEqual({ requests: 2, cost: 2000, input: 23, userRequests: 2 });
    await expect(handler({ ...event, shardId: undefined })).rejects.toThrow('tumbling window');
  });

  it('fails the invocation when cells cannot be updated, so Lambda bisects and retries the batch', async () => {
    await jest.isolateModulesAsync(async () => {
      Object.assign(process.env, { USAGE_AGGREGATES_TABLE: 'no-such-table' });
      const { handler } = await import('../../lambdas/handlers/usage-aggregates');
      const image = marshall(Object.fromEntries(Object.entries(record('2026-09-02', 1, 'u1', 'openai', 10)).filter(([, v]) => v !== null)));
      await expect(
        handler({ shardId: SHARDS[0]!, Records: [{ eventName: 'INSERT', dynamodb: { NewImage: image, SequenceNumber: '1' } }] }),
      ).rejects.toThrow('aggregate cells not updated');
    });
  });
});

test('a shard marker not moved for longer than the stream keeps records (26 h) is dropped; recent ones stay', async () => {
  const cell: CellAddition = { cell: { kind: 'day', day: '2026-08-01' }, counts: undefined, performance: undefined, budget: undefined };
  const at = (now: number) =>
    new DynamoDbUsageStore(
      dynamo.doc,
      { records: dynamo.table('usage'), aggregates: dynamo.table('usage-aggregates') },
      undefined,
      () => now,
    );
  const guard = (shard: string, sequence: string): CellGuard => ({ shard, first: padSequence(sequence), last: padSequence(sequence) });
  const third = 'shardId-00000001764158400002-8c9d0e1f';
  const HOUR = 3_600_000;
  await at(NOW).add(cell, guard(SHARDS[0]!, '5')); // 30 h before the last update: stale
  await at(NOW + 10 * HOUR).add(cell, guard(third, '6')); // 20 h before: still guards re-deliveries
  await at(NOW + 29 * HOUR).add(cell, guard(SHARDS[1]!, '7'));
  await at(NOW + 30 * HOUR).add(cell, guard(SHARDS[1]!, '8'));
  const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
  const item = (
    await dynamo.doc.send(new GetCommand({ TableName: dynamo.table('usage-aggregates'), Key: { pk: 'd#2026-08-01', sk: 'total' } }))
  ).Item!;
  expect(
    Object.keys(item)
      .filter((k) => k.startsWith('g_'))
      .sort(),
  ).toEqual([markerName(SHARDS[1]!), markerName(third)].sort());
  expect(String(item[markerName(SHARDS[1]!)])).toBe(`${padSequence('8')}@${NOW + 30 * HOUR}`);
  expect(String(item[markerName(third)])).toBe(`${padSequence('6')}@${NOW + 10 * HOUR}`);
});

test('a budget alert that could not go out is sent by a later batch, exactly once, re-deliveries included', async () => {
  const day = '2026-07-01';
  await cleanDay(day);
  const sent: string[] = [];
  let failNext = true;
  const publisher = {
    publish: async (alert: { subject: string }) => {
      if (failNext) {
        failNext = false;
        throw new Error('SNS unavailable');
      }
      sent.push(alert.subject);
    },
  };
  const errors: string[] = [];
  const aggregator = new UsageAggregator(
    store,
    new BudgetAlerts({ dailyUsd: 0.002, levels: [50, 100] }, publisher, store, { now: () => NOW, sleep: async () => undefined }),
    { day: true, month: false, userDay: false, userMonth: false },
    { error: (message: string) => void errors.push(message) },
    limiter,
  );
  const positioned = (i: number, cost: number) => ({
    record: record(day, i, 'u1', 'openai', cost),
    position: { shard: SHARDS[0]!, sequence: padSequence(String(100 + i)) },
  });
  const first = [positioned(1, 1200)]; // 60% of $0.002: the 50% alert, whose publish fails
  await aggregator.apply(first);
  expect(errors).toEqual(['budget alert not sent']);
  expect(sent).toEqual([]);
  await aggregator.apply(first); // re-delivered: not counted again, but the alert goes out now
  expect(sent).toEqual(['Hybrid Orchestrator: daily spend on 2026-07-01 reached 50% of $0.002']);
  await aggregator.apply([positioned(2, 900)]); // 105%: the 100% alert, once
  await aggregator.apply([positioned(2, 900)]);
  expect(sent).toHaveLength(2);
  expect(sent[1]).toContain('reached 100%');
  expect((await totals(day)).cost).toBe(2100);
});
