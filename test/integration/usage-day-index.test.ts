/**
 * The usage records' day index, sharded so no partition is shared by every request: records spread
 * over the shards and read back whole, and a table kept from before the sharding (under DATA_DIR, or
 * deployed) is brought over by the backfill, idempotently.
 */
import { usageRecord } from '../helpers/usage-records';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { backfillDayShards, dayShardOf, DynamoDbUsageStore, USAGE_DAY_SHARDS } from '../../lambdas/adapters/dynamodb/dynamodb-usage-store';
import type { UsageRecord } from '../../lambdas/core/metering/usage-record';
import { createTable, ensureTables, startDynalite, type LocalDynamo } from '../../lambdas/local/dynamodb-local';
import { USAGE_TABLE } from '../../lambdas/shared/tables';

const record = (requestId: string, createdAt: string): UsageRecord =>
  usageRecord({ requestId, userId: 'user-1', keyId: 'key-1', taskType: 'content_planning', createdAt });

/** A record as stored before the sharding: no `dayShard`, nulls left out. */
const legacyItem = (r: UsageRecord, extra: Record<string, unknown> = {}) => ({
  ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)),
  expiresAt: 2_000_000_000,
  ...extra,
});

describe('the sharded day index of usage records', () => {
  let engine: LocalDynamo;
  let raw: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let n = 0;
  beforeAll(async () => {
    engine = await startDynalite();
    raw = new DynamoDBClient({ region: 'us-east-1', endpoint: engine.endpoint, credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    doc = DynamoDBDocumentClient.from(raw);
  });
  afterAll(async () => {
    raw.destroy();
    await engine.close();
  });
  const freshTable = () => `usage-${++n}`;

  it('spreads a day over its shards, and reads every record of that day back, oldest first', async () => {
    const table = freshTable();
    await ensureTables(raw, [{ definition: USAGE_TABLE, name: table }]);
    const store = new DynamoDbUsageStore(doc, { records: table, aggregates: 'unused' });
    const base = Date.parse('2026-11-23T00:00:00.000Z');
    // 160 records of the day, in an order unrelated to their times, and two on each neighbouring day.
    const times = Array.from({ length: 160 }, (_, i) => new Date(base + ((i * 7919) % 160) * 500_000).toISOString());
    await Promise.all(times.map((at, i) => store.putRecord(record(`req-${i}`, at), 2_000_000_000)));
    await store.putRecord(record('before', '2026-11-22T23:59:59.999Z'), 2_000_000_000);
    await store.putRecord(record('after', '2026-11-24T00:00:00.000Z'), 2_000_000_000);

    const read = await store.recordsOfDay('2026-11-23');
    expect(read).toHaveLength(160);
    expect(read.map((r) => r.createdAt)).toEqual([...times].sort());
    expect(read[0]).toEqual(record(read[0]!.requestId, read[0]!.createdAt));

    // Every shard holds part of the day (160 ids over 16 shards), none holds it all.
    const perShard = await Promise.all(
      Array.from({ length: USAGE_DAY_SHARDS }, async (_, s) => {
        const out = await doc.send(
          new QueryCommand({
            TableName: table,
            IndexName: 'byDayShard',
            KeyConditionExpression: 'dayShard = :s',
            ExpressionAttributeValues: { ':s': `2026-11-23#${s}` },
          }),
        );
        return out.Items?.length ?? 0;
      }),
    );
    expect(perShard.filter((count) => count > 0).length).toBe(USAGE_DAY_SHARDS);
    expect(Math.max(...perShard)).toBeLessThan(40);
  });

  it('puts a record written twice (a retry, a replayed spill) in the same shard', () => {
    expect(dayShardOf('2026-11-23', 'req-abc')).toBe(dayShardOf('2026-11-23', 'req-abc'));
    expect(dayShardOf('2026-11-23', 'req-abc')).toMatch(/^2026-11-23#([0-9]|1[0-5])$/);
  });

  it('rebuilds a table kept from before the sharding and backfills its records, once', async () => {
    const table = freshTable();
    // The table as an older version made it: one `byDay` index, records without `dayShard`.
    const legacy = { ...USAGE_TABLE, indexes: [{ name: 'byDay', partitionKey: 'day', sortKey: 'createdAt' }] };
    await createTable(raw, legacy, table);
    const old = Array.from({ length: 30 }, (_, i) =>
      record(`old-${i}`, new Date(Date.parse('2026-11-20T08:00:00Z') + i * 1000).toISOString()),
    );
    for (const r of old) await doc.send(new PutCommand({ TableName: table, Item: legacyItem(r) }));

    let moved: number | undefined;
    const rebuilt = await ensureTables(raw, [
      { definition: USAGE_TABLE, name: table, afterRebuild: async () => void (moved = await backfillDayShards(doc, table)) },
    ]);
    expect(rebuilt).toEqual([table]);
    expect(moved).toBe(30);
    const store = new DynamoDbUsageStore(doc, { records: table, aggregates: 'unused' });
    const read = await store.recordsOfDay('2026-11-20');
    expect(read.map((r) => r.requestId)).toEqual(old.map((r) => r.requestId));
    expect(read[0]).toEqual(old[0]);

    // A second start finds the table as defined; a second backfill finds nothing left to move.
    expect(await ensureTables(raw, [{ definition: USAGE_TABLE, name: table }])).toEqual([]);
    expect(await backfillDayShards(doc, table)).toBe(0);
  });

  it('backfills in pages and leaves records that already have their shard alone', async () => {
    const table = freshTable();
    await ensureTables(raw, [{ definition: USAGE_TABLE, name: table }]);
    const store = new DynamoDbUsageStore(doc, { records: table, aggregates: 'unused' });
    await store.putRecord(record('new-1', '2026-11-21T01:00:00.000Z'), 2_000_000_000);
    // Large enough items that a scan page (1 MB) holds only part of them.
    const padding = 'x'.repeat(20_000);
    for (let i = 0; i < 70; i++) {
      await doc.send(new PutCommand({ TableName: table, Item: legacyItem(record(`old-${i}`, '2026-11-21T02:00:00.000Z'), { padding }) }));
    }
    const progress: number[] = [];
    expect(await backfillDayShards(doc, table, { concurrency: 4, onProgress: (done) => progress.push(done) })).toBe(70);
    expect(progress.length).toBeGreaterThan(1);
    expect(await store.recordsOfDay('2026-11-21')).toHaveLength(71);
  });
});
