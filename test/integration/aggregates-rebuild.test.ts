/**
 * Rebuilding a day's aggregates from its usage records (`npm run rebuild-aggregates`), on dynalite:
 * after a lost batch and a double-counted one, the day's cells and the month's budget cells equal
 * what a clean aggregation of the records gives, twice in a row, and other days are untouched.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbUsageStore } from '../../lambdas/adapters/dynamodb/dynamodb-usage-store';
import { BudgetAlerts } from '../../lambdas/core/metering/alerts';
import { rebuildDay, UsageAggregator } from '../../lambdas/core/metering/aggregation';
import type { AggregateRow } from '../../lambdas/core/metering/ports';
import type { UsageRecord } from '../../lambdas/core/metering/usage-record';
import { ensureTables } from '../../lambdas/local/dynamodb-local';
import { TABLES } from '../../lambdas/shared/tables';
import { startTestDynamo, type TestDynamo } from '../helpers/dynamo';
import { CapturingAlerts } from '../helpers/fakes';
import { usageRecord } from '../helpers/usage-records';

const NOW = Date.UTC(2026, 10, 26, 12);
const TRACKED = { day: true, month: true, userDay: false, userMonth: true };
let dynamo: TestDynamo;

function storeOn(aggregates: string, shards = 3): DynamoDbUsageStore {
  return new DynamoDbUsageStore(
    dynamo.doc,
    { records: dynamo.table('usage'), aggregates },
    { shards, random: { next: Math.random, bytes: (n) => new Uint8Array(n) } },
    () => NOW,
  );
}

function aggregatorOn(store: DynamoDbUsageStore): UsageAggregator {
  return new UsageAggregator(
    store,
    new BudgetAlerts({ levels: [] }, new CapturingAlerts(), store, { now: () => NOW, sleep: async () => undefined }),
    TRACKED,
    { error: () => undefined },
    { settle: async () => undefined },
  );
}

const record = (day: string, i: number): UsageRecord =>
  usageRecord({
    requestId: `req_${day}_${i}`,
    userId: `u${i % 3}`,
    provider: i % 2 ? 'openai' : 'azure-openai',
    inputTokens: 10 + i,
    outputTokens: 3 * i,
    costMicros: 100 + i,
    createdAt: `${day}T${String(8 + (i % 4)).padStart(2, '0')}:00:00.000Z`,
  });

/** Rows in a stable order, for comparison. */
const normalised = (rows: AggregateRow[]) => rows.map((r) => JSON.stringify(r)).sort();

beforeAll(async () => {
  dynamo = await startTestDynamo();
  const raw = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const aggregates = TABLES.find((t) => t.logicalName === 'usage-aggregates')!;
  await ensureTables(raw, [{ definition: aggregates, name: 'expected-aggregates' }]);
});
afterAll(() => dynamo.close());

it('rebuilds a day after a lost and a doubled batch: day cells and month totals as a clean aggregation gives them, idempotently', async () => {
  const live = storeOn(dynamo.table('usage-aggregates'));
  const expected = storeOn('expected-aggregates');
  const [broken, other] = ['2026-11-20', '2026-11-21'];
  const day = Array.from({ length: 12 }, (_, i) => record(broken, i));
  const otherDay = Array.from({ length: 5 }, (_, i) => record(other, i));
  for (const r of [...day, ...otherDay]) await live.putRecord(r, Math.floor(NOW / 1000) + 86_400);

  // What should be: every record aggregated once.
  await aggregatorOn(expected).apply([...day, ...otherDay].map((r) => ({ record: r })));
  // What is: the last 4 records of the day never aggregated (a dead-lettered batch), the first 3 twice.
  const aggregator = aggregatorOn(live);
  await aggregator.apply([...day.slice(0, 8), ...otherDay].map((r) => ({ record: r })));
  await aggregator.apply(day.slice(0, 3).map((r) => ({ record: r })));
  expect(normalised(await live.aggregates(broken, broken))).not.toEqual(normalised(await expected.aggregates(broken, broken)));

  for (let run = 0; run < 2; run++) {
    const result = await rebuildDay(broken, await live.recordsOfDay(broken), live, TRACKED);
    expect(result.records).toBe(12);
    expect(normalised(await live.aggregates(broken, broken))).toEqual(normalised(await expected.aggregates(broken, broken)));
    expect(normalised(await live.aggregates(other, other))).toEqual(normalised(await expected.aggregates(other, other)));
    const [liveMonth, expectedMonth] = await Promise.all([live.monthCells('2026-11'), expected.monthCells('2026-11')]);
    expect(liveMonth.total).toEqual(expectedMonth.total);
    expect([...liveMonth.users].sort()).toEqual([...expectedMonth.users].sort());
    // The day's budget total (read by the daily budget) too.
    const dayTotal = async (table: string) =>
      (await dynamo.doc.send(new GetCommand({ TableName: table, Key: { pk: `d#${broken}`, sk: 'total' } }))).Item?.['costMicros'];
    expect(await dayTotal(dynamo.table('usage-aggregates'))).toBe(await dayTotal('expected-aggregates'));
  }

  // Broken again (a doubled batch), and a rebuild cut short half-way through writing the cells: run
  // again, it corrects the month by the day's change once, from the baseline the first run saved.
  await aggregator.apply(day.slice(3, 6).map((r) => ({ record: r })));
  let writes = 0;
  const crashing = Object.assign(Object.create(live) as DynamoDbUsageStore, {
    add: (...args: Parameters<DynamoDbUsageStore['add']>) => {
      if (++writes > 4) return Promise.reject(new Error('process killed'));
      return live.add(...args);
    },
  });
  await expect(rebuildDay(broken, await live.recordsOfDay(broken), crashing, TRACKED)).rejects.toThrow('process killed');
  await rebuildDay(broken, await live.recordsOfDay(broken), live, TRACKED);
  expect(normalised(await live.aggregates(broken, broken))).toEqual(normalised(await expected.aggregates(broken, broken)));
  const [liveMonth, expectedMonth] = await Promise.all([live.monthCells('2026-11'), expected.monthCells('2026-11')]);
  expect(liveMonth.total).toEqual(expectedMonth.total);
  expect([...liveMonth.users].sort()).toEqual([...expectedMonth.users].sort());
  expect(await live.rebuildBaseline(broken)).toBeUndefined();
});
