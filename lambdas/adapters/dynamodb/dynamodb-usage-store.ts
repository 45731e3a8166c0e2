/**
 * `UsageStore`, `AggregateStore` and `AlertMarkers` on DynamoDB. Records: a new one in a batch with
 * other requests' (`BatchWriteItem`), a retried or replayed one as a conditional put on its request
 * id. Aggregates: one single-item `ADD` update per cell a batch adds to (day x hour x task x provider
 * x model, day x user, day total, month total, month x user), never a transaction.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CellAddition, CellGuard, CellId, CellResult, DayBaseline, DayCellStore } from '../../core/metering/aggregation';
import type { AlertMarkers } from '../../core/metering/ports';
import type { DailyReport } from '../../core/metering/ports';
import type { ReportStore } from '../../core/metering/ports';
import type { Random } from '../../core/ports';
import type { AggregateCounts, AggregateRow, CellPerformance, UsageStore } from '../../core/metering/ports';
import type { UsageRecord } from '../../core/metering/usage-record';
import { dayStart, daysBetween } from '../../core/utc-day';
import { CoalescedPuts } from './coalesced-puts';
import { documentWrites, type ItemWrites } from './item-writes';
import { deleteAll, itemFound, putIfAbsent, queryAll } from './queries';

const COUNT_FIELDS = [
  'requests',
  'errors',
  'fallbacks',
  'inputTokens',
  'outputTokens',
  'cachedTokens',
  'costMicros',
  'unpriced',
  'estimated',
  'latencyMs',
  'cacheHits',
  'savedMicros',
  'routingSavedMicros',
] as const;
/** The performance counters of a detail cell (`lh_<bucket>`, `th_<bucket>`: latency and first-token histograms). */
function performanceOf(item: Record<string, unknown>): CellPerformance {
  const histogram = (prefix: string) =>
    Object.fromEntries(
      Object.entries(item)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, n]) => [name.slice(prefix.length), Number(n)]),
    );
  return {
    calls: Number(item['calls'] ?? 0),
    callFailures: Number(item['callFailures'] ?? 0),
    fallbacksFrom: Number(item['fallbacksFrom'] ?? 0),
    latency: histogram('lh_'),
    firstEvent: histogram('th_'),
  };
}

/** Aggregates outlive the records: 400 days, for year-over-year comparisons. */
const AGGREGATE_RETENTION_SECONDS = 400 * 86_400;
/**
 * A settlement cell serves the quota counters of its day and month: kept 35 days after its last change
 * (for reports and audits). The counters take its totals while their sync slot for that day (by day
 * parity) is not yet taken by a later day: up to about a day late; a record replayed later than that
 * (from the outbox) leaves its reservation standing.
 */
const SETTLEMENT_RETENTION_SECONDS = 35 * 86_400;
/**
 * A stream keeps records 24 hours: a marker its shard has not moved for longer guards only records
 * that can never come again. 26 hours leaves a margin for clock skew.
 */
export const STALE_MARKER_MS = 26 * 3_600_000;

/** A stored usage record as the gateway built it (nulls are stored as absent attributes). */
export function recordFromItem(item: Record<string, unknown>): UsageRecord {
  const { expiresAt: _expiresAt, dayShard: _dayShard, ...rest } = item;
  const nullable = ['userId', 'keyId', 'taskType', 'path', 'provider', 'model', 'costMicros', 'timeToFirstTokenMs', 'errorClass'] as const;
  return { ...Object.fromEntries(nullable.map((k) => [k, null])), ...rest } as unknown as UsageRecord;
}

/**
 * The attribute holding the last sequence number a cell applied from a stream shard. Its value is
 * `<padded sequence>@<written at, epoch ms>`: compared as a string it orders by the sequence alone.
 */
export function markerName(shard: string): string {
  return `g_${createHash('sha1').update(shard).digest('hex').slice(0, 16)}`;
}

/**
 * Write shards of a day in the usage records' day index: a GSI partition takes about 1,000 writes per
 * second, so one partition per day would cap the whole fleet there; 16 raise that to about 16,000.
 * Readers query every shard, so changing the number needs the backfill (`npm run backfill-day-shards`).
 */
export const USAGE_DAY_SHARDS = 16;

/**
 * A record's partition in the day index: `<day>#<n>`, n from its request id, so a record written twice
 * (a retry, a replayed spill) lands in the same shard.
 */
export function dayShardOf(day: string, requestId: string): string {
  return `${day}#${createHash('sha1').update(requestId).digest().readUInt32BE(0) % USAGE_DAY_SHARDS}`;
}

/** A record as stored: with its day-index shard and expiry; nulls left out, so sparse attributes stay absent rather than typed NULL. */
function recordItem(record: UsageRecord, expiresAt: number): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries({ ...record, dayShard: dayShardOf(record.day, record.requestId), expiresAt }).filter(([, v]) => v !== null),
  );
}

/** The aggregate counts an aggregate item holds (a count never written is 0). */
function countsOfItem(item: Record<string, unknown>): AggregateCounts {
  return Object.fromEntries(COUNT_FIELDS.map((field) => [field, Number(item[field] ?? 0)])) as unknown as AggregateCounts;
}

export class DynamoDbUsageStore implements UsageStore, DayCellStore, AlertMarkers, ReportStore {
  /** New records, batched with whatever other requests' records are ready at the same time. */
  private readonly newRecords: CoalescedPuts;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: { records: string; aggregates: string },
    /**
     * Write shards of the detail cells, the items every user's requests share: each write picks one
     * at random, reads sum them. Spend totals are never sharded (a budget crossing needs one counter).
     */
    private readonly sharding: { shards: number; random: Random } = {
      shards: 1,
      random: { next: () => 0, bytes: (n) => new Uint8Array(n) },
    },
    private readonly now: () => number = Date.now,
    private readonly onPruneError: (error: unknown) => void = () => undefined,
    /** How the usage records and alert markers are written; everything else goes through `client`. */
    private readonly writes: ItemWrites = documentWrites(client),
  ) {
    this.newRecords = new CoalescedPuts(writes, tables.records, 'requestId');
  }

  addNewRecord(record: UsageRecord, expiresAt: number): Promise<void> {
    return this.newRecords.put(recordItem(record, expiresAt));
  }

  putRecord(record: UsageRecord, expiresAt: number): Promise<boolean> {
    return putIfAbsent(this.writes, this.tables.records, recordItem(record, expiresAt), 'requestId');
  }

  /**
   * One ADD update of a cell. With a guard, the cell keeps, per stream shard, the last sequence number
   * it applied (see `markerName`): the update applies only if that is before the guard's
   * first record, and a refusal says how far the cell got (the item DynamoDB returns with the failed
   * condition; a read where the engine returns none).
   */
  async add(addition: CellAddition, guard: CellGuard | undefined): Promise<CellResult> {
    const { pk, sk, labels } = this.cellItem(addition.cell, guard);
    const counts = addition.counts;
    const performance = addition.performance;
    const expiresAt =
      Math.floor(this.now() / 1000) + (addition.cell.kind === 'settlement' ? SETTLEMENT_RETENTION_SECONDS : AGGREGATE_RETENTION_SECONDS);
    const names: Record<string, string> = { '#exp': 'expiresAt' };
    const values: Record<string, unknown> = { ':exp': expiresAt };
    const adds = counts
      ? COUNT_FIELDS.map((field, i) => {
          names[`#c${i}`] = field;
          values[`:c${i}`] = counts[field];
          return `#c${i} :c${i}`;
        })
      : [];
    if (performance) {
      const fields: Array<[string, number]> = [
        ['calls', performance.calls],
        ['callFailures', performance.callFailures],
        ['fallbacksFrom', performance.fallbacksFrom],
        ...Object.entries(performance.latency).map(([bucket, n]): [string, number] => [`lh_${bucket}`, n]),
        ...Object.entries(performance.firstEvent).map(([bucket, n]): [string, number] => [`th_${bucket}`, n]),
      ];
      fields.forEach(([field, n], i) => {
        names[`#p${i}`] = field;
        values[`:p${i}`] = n;
        adds.push(`#p${i} :p${i}`);
      });
    }
    const settled = addition.settled;
    if (settled) {
      names['#sr'] = 'settled';
      names['#st'] = 'settledTokens';
      values[':sr'] = settled.records;
      values[':st'] = settled.tokens;
      adds.push('#sr :sr', '#st :st');
    }
    const totalsOf = (item: Record<string, unknown> | undefined) =>
      settled ? { settled: { records: Number(item?.['settled'] ?? 0), tokens: Number(item?.['settledTokens'] ?? 0) } } : {};
    const sets = [
      '#exp = :exp',
      ...Object.entries(labels).map(([key, value], i) => {
        names[`#l${i}`] = key;
        values[`:l${i}`] = value;
        return `#l${i} = :l${i}`;
      }),
    ];
    const marker = guard ? markerName(guard.shard) : undefined;
    if (guard && marker) {
      names['#g'] = marker;
      values[':gfirst'] = guard.first;
      values[':glast'] = `${guard.last}@${this.now()}`;
      sets.push('#g = :glast');
    }
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tables.aggregates,
          Key: { pk, sk },
          UpdateExpression: `SET ${sets.join(', ')}${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`,
          ...(marker ? { ConditionExpression: 'attribute_not_exists(#g) OR #g < :gfirst' } : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: marker ? 'ALL_NEW' : addition.budget || settled ? 'UPDATED_NEW' : 'NONE',
          ...(marker ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
        }),
      );
      if (marker && out.Attributes) await this.pruneMarkers(pk, sk, out.Attributes);
      return {
        applied: true,
        costMicros: addition.budget ? Number(out.Attributes?.['costMicros'] ?? 0) : null,
        ...totalsOf(out.Attributes),
      };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || !marker) throw error;
      const item = await itemFound(error, () => this.readAggregate(pk, sk));
      const stored = item?.[marker];
      // Only the marker can fail the condition: without one, something else is wrong; never re-apply.
      if (typeof stored !== 'string') throw new Error(`aggregate cell ${pk} ${sk} refused an update but holds no marker for its shard`);
      return {
        applied: false,
        appliedUpTo: stored.split('@')[0]!,
        costMicros: addition.budget ? Number(item?.['costMicros'] ?? 0) : null,
        ...totalsOf(item),
      };
    }
  }

  /** Drops markers not moved for longer than a stream keeps records (a day): nothing they guard can come again. */
  private async pruneMarkers(pk: string, sk: string, item: Record<string, unknown>): Promise<void> {
    const stale = Object.keys(item).filter((name) => {
      const written = /^g_[0-9a-f]+$/.test(name) ? Number(String(item[name]).split('@')[1]) : NaN;
      return written < this.now() - STALE_MARKER_MS;
    });
    if (stale.length === 0) return;
    const names = Object.fromEntries(stale.map((name, i) => [`#s${i}`, name]));
    const values = Object.fromEntries(stale.map((name, i) => [`:s${i}`, item[name]]));
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tables.aggregates,
          Key: { pk, sk },
          UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
          ConditionExpression: stale.map((_, i) => `#s${i} = :s${i}`).join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      )
      .catch((error: unknown) => {
        // Another consumer pruned or moved them first: nothing to do. Anything else is worth a look.
        if (!(error instanceof ConditionalCheckFailedException)) this.onPruneError(error);
      });
  }

  /** A cell's key and labels. Detail cells, shared by every user, may be spread over write shards. */
  private cellItem(cell: CellId, guard: CellGuard | undefined): { pk: string; sk: string; labels: Record<string, string> } {
    switch (cell.kind) {
      case 'detail': {
        const { day, hour, taskType, provider, model } = cell;
        return {
          pk: `d#${day}`,
          sk: `x#${hour}#${taskType}#${provider}#${model}${this.shardSuffix(guard)}`,
          labels: { kind: 'detail', day, hour, taskType, provider, model },
        };
      }
      case 'user-day':
        return { pk: `d#${cell.day}`, sk: `u#${cell.userId}`, labels: { kind: 'user', day: cell.day, userId: cell.userId } };
      case 'day':
        return { pk: `d#${cell.day}`, sk: 'total', labels: { kind: 'total', day: cell.day } };
      case 'month':
        return { pk: `m#${cell.month}`, sk: 'total', labels: { kind: 'total', month: cell.month } };
      case 'user-month':
        return { pk: `m#${cell.month}`, sk: `u#${cell.userId}`, labels: { kind: 'user', month: cell.month, userId: cell.userId } };
      case 'settlement':
        // A partition per user: no item shared by every user.
        return { pk: `q#${cell.userId}`, sk: String(cell.day), labels: { kind: 'settlement', userId: cell.userId } };
    }
  }

  /** A random write shard; with a guard, always the same one for a stream shard, so its marker is found again. */
  private shardSuffix(guard: CellGuard | undefined): string {
    const { shards, random } = this.sharding;
    if (shards <= 1) return '';
    const pick = guard ? createHash('sha1').update(guard.shard).digest().readUInt32BE(0) / 2 ** 32 : random.next();
    return `#${Math.floor(pick * shards)}`;
  }

  async aggregates(from: string, to: string): Promise<AggregateRow[]> {
    const rows: AggregateRow[] = [];
    await Promise.all(
      daysBetween(from, to).map(async (day) => {
        for (const item of await queryAll(this.client, {
          TableName: this.tables.aggregates,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `d#${day}` },
        })) {
          const counts = countsOfItem(item);
          if (item['kind'] === 'detail') {
            rows.push({
              ...counts,
              kind: 'detail',
              day,
              hour: String(item['hour']),
              taskType: String(item['taskType']),
              provider: String(item['provider']),
              model: String(item['model']),
              ...(item['calls'] !== undefined ? { performance: performanceOf(item) } : {}),
            });
          } else if (item['kind'] === 'user') {
            rows.push({ ...counts, kind: 'user', day, userId: String(item['userId']) });
          }
        }
      }),
    );
    return rows;
  }

  /** A month's budget cells as stored: the total and each user's (`m#<month>`). */
  async monthCells(month: string): Promise<{ total: AggregateCounts | undefined; users: Map<string, AggregateCounts> }> {
    const items = await queryAll(this.client, {
      TableName: this.tables.aggregates,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `m#${month}` },
    });
    const total = items.find((item) => item['sk'] === 'total');
    return {
      total: total ? countsOfItem(total) : undefined,
      users: new Map(items.flatMap((item) => (item['kind'] === 'user' ? [[String(item['userId']), countsOfItem(item)] as const] : []))),
    };
  }

  /** The baseline an unfinished rebuild of the day saved (`rebuild#<day>`), if any. */
  async rebuildBaseline(day: string): Promise<DayBaseline | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tables.aggregates, Key: { pk: `rebuild#${day}`, sk: 'baseline' } }),
    );
    return out.Item ? (JSON.parse(String(out.Item['baseline'])) as DayBaseline) : undefined;
  }

  async saveRebuildBaseline(day: string, baseline: DayBaseline): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tables.aggregates,
        Item: {
          pk: `rebuild#${day}`,
          sk: 'baseline',
          baseline: JSON.stringify(baseline),
          expiresAt: Math.floor(this.now() / 1000) + 30 * 86_400,
        },
      }),
    );
  }

  async dropRebuildBaseline(day: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tables.aggregates, Key: { pk: `rebuild#${day}`, sk: 'baseline' } }));
  }

  /** Deletes every cell item of a day (`d#<day>`: detail cells on every write shard, user cells, the total). */
  async clearDay(day: string): Promise<number> {
    const keys = (
      await queryAll(this.client, {
        TableName: this.tables.aggregates,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `d#${day}` },
        ProjectionExpression: 'pk, sk',
      })
    ).map((item) => ({ pk: item['pk'], sk: item['sk'] }));
    await deleteAll(this.client, this.tables.aggregates, keys);
    return keys.length;
  }

  /** Every record of a day, oldest first: one query per day shard, in parallel. */
  async recordsOfDay(day: string): Promise<UsageRecord[]> {
    const shards = await Promise.all(
      Array.from({ length: USAGE_DAY_SHARDS }, (_, n) =>
        queryAll(this.client, {
          TableName: this.tables.records,
          IndexName: 'byDayShard',
          KeyConditionExpression: 'dayShard = :shard',
          ExpressionAttributeValues: { ':shard': `${day}#${n}` },
        }),
      ),
    );
    return shards
      .flat()
      .map(recordFromItem)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /** The report of a day, as JSON and text, under `report` / `<day>` (a re-run overwrites it with the same content). */
  async save(report: DailyReport, text: string): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tables.aggregates,
        Item: {
          pk: 'report',
          sk: report.day,
          json: JSON.stringify(report),
          text,
          expiresAt: Math.floor(dayStart(report.day) / 1000) + AGGREGATE_RETENTION_SECONDS,
        },
      }),
    );
  }

  async report(day: string): Promise<{ report: DailyReport; text: string } | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tables.aggregates, Key: { pk: 'report', sk: day } }));
    const item = out.Item;
    return item ? { report: JSON.parse(String(item['json'])) as DailyReport, text: String(item['text']) } : undefined;
  }

  /**
   * Claims an alert marker. The marker holds its claimant's token: the SDK sends a write again when
   * its answer was lost, and the condition then fails on the first landing, which is still this
   * claim (without the token the alert was never sent). The token is a random UUID: it only tells
   * claims apart, and no test needs to foresee it.
   */
  async claim(key: string, expiresAt: number): Promise<boolean> {
    const claimant = randomUUID();
    try {
      await this.writes.put({
        TableName: this.tables.aggregates,
        Item: { pk: 'alert', sk: key, expiresAt, claimant },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const found = await itemFound(error, () => this.readAggregate('alert', key));
      return found?.['claimant'] === claimant;
    }
  }

  /** An item of the aggregates table as it is now (a consistent read). */
  private async readAggregate(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    return (await this.client.send(new GetCommand({ TableName: this.tables.aggregates, Key: { pk, sk }, ConsistentRead: true }))).Item;
  }

  async release(key: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tables.aggregates, Key: { pk: 'alert', sk: key } }));
  }
}

/**
 * Gives every stored record without a `dayShard` (written before the day index was sharded) its shard,
 * so the day index finds it. Idempotent and resumable: a record that has one is skipped, and each
 * update is conditioned on the record still existing and still lacking it. Returns how many it updated.
 * A stream consumer sees these as MODIFY events and ignores them (it aggregates inserts only).
 */
export async function backfillDayShards(
  client: DynamoDBDocumentClient,
  table: string,
  options: { concurrency?: number; onProgress?: (updated: number) => void } = {},
): Promise<number> {
  let updated = 0;
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'attribute_not_exists(dayShard) AND attribute_exists(#day)',
        ProjectionExpression: 'requestId, #day',
        ExpressionAttributeNames: { '#day': 'day' },
        ...(cursor ? { ExclusiveStartKey: cursor } : {}),
      }),
    );
    const items = (page.Items ?? []) as Array<{ requestId: string; day: string }>;
    const concurrency = options.concurrency ?? 8;
    for (let i = 0; i < items.length; i += concurrency) {
      const results = await Promise.all(
        items.slice(i, i + concurrency).map((item) =>
          client
            .send(
              new UpdateCommand({
                TableName: table,
                Key: { requestId: item.requestId },
                UpdateExpression: 'SET dayShard = :shard',
                ConditionExpression: 'attribute_exists(requestId) AND attribute_not_exists(dayShard)',
                ExpressionAttributeValues: { ':shard': dayShardOf(item.day, item.requestId) },
              }),
            )
            .then(
              () => 1,
              (error: unknown) => {
                // Expired meanwhile, or given its shard by another run: nothing to do.
                if (error instanceof ConditionalCheckFailedException) return 0;
                throw error;
              },
            ),
        ),
      );
      updated += results.reduce((a, b) => a + b, 0);
    }
    options.onProgress?.(updated);
    cursor = page.LastEvaluatedKey;
  } while (cursor);
  return updated;
}
