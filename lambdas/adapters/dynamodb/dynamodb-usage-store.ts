/**
 * `UsageStore` and `AlertMarkers` on DynamoDB. Records: a conditional put per request id. Aggregates:
 * one single-item `ADD` update per cell the record belongs to (day x hour x task x provider x model,
 * day x user, day total, month total, month x user), in parallel, never a transaction.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AlertMarkers } from '../../core/metering/ports';
import type { SpendTotals } from '../../core/metering/ports';
import type { DailyReport } from '../../core/metering/ports';
import type { ReportStore } from '../../core/metering/ports';
import type { Random } from '../../core/ports';
import type { AggregateCounts, AggregateRow, CellPerformance, UsageStore } from '../../core/metering/ports';
import type { UsageRecord } from '../../core/metering/usage-record';
import { dayStart, daysBetween } from '../../core/utc-day';
import { putIfAbsent, queryAll } from './queries';

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

export class DynamoDbUsageStore implements UsageStore, AlertMarkers, ReportStore {
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
  ) {}

  putRecord(record: UsageRecord, expiresAt: number): Promise<boolean> {
    // Nulls are left out, so sparse attributes stay absent rather than typed NULL.
    const item = Object.fromEntries(Object.entries({ ...record, expiresAt }).filter(([, v]) => v !== null));
    return putIfAbsent(this.client, this.tables.records, item, 'requestId');
  }

  async addToAggregates(
    record: UsageRecord,
    counts: AggregateCounts,
    totals: Record<keyof SpendTotals, boolean>,
    performance: Array<{ provider: string; model: string; performance: CellPerformance }> = [],
  ): Promise<SpendTotals> {
    const day = `d#${record.day}`;
    const month = `m#${record.day.slice(0, 7)}`;
    const userId = record.userId ?? 'anonymous';
    const expiresAt = Math.floor(Date.parse(record.createdAt) / 1000) + AGGREGATE_RETENTION_SECONDS;
    const detail = {
      hour: record.hour,
      taskType: record.taskType ?? 'none',
      provider: record.provider ?? 'none',
      model: record.model ?? 'none',
    };
    const total = (wanted: boolean, pk: string, sk: string, labels: Record<string, string>) =>
      wanted ? this.add(pk, sk, counts, expiresAt, labels, true) : Promise.resolve(null);
    const cell = (provider: string, model: string) => `x#${detail.hour}#${detail.taskType}#${provider}#${model}${this.shardSuffix()}`;
    const own = performance.find((p) => p.provider === detail.provider && p.model === detail.model)?.performance;
    // The other targets the request called get their calls and failures in their own cells.
    const others = performance.filter((p) => p.performance !== own);
    const [, userDay, dayTotal, monthTotal, userMonth] = await Promise.all([
      this.add(day, cell(detail.provider, detail.model), counts, expiresAt, { kind: 'detail', day: record.day, ...detail }, false, own),
      ...others.map((p) =>
        this.add(
          day,
          cell(p.provider, p.model),
          undefined,
          expiresAt,
          { kind: 'detail', day: record.day, ...detail, provider: p.provider, model: p.model },
          false,
          p.performance,
        ),
      ),
      // The user's day cell serves groupBy=user, and the per-user daily budget reads it back.
      this.add(day, `u#${userId}`, counts, expiresAt, { kind: 'user', day: record.day, userId }, totals.userDay),
      total(totals.day, day, 'total', { kind: 'total', day: record.day }),
      total(totals.month, month, 'total', { kind: 'total', month: month.slice(2) }),
      total(totals.userMonth, month, `u#${userId}`, { kind: 'user', month: month.slice(2), userId }),
    ]);
    return { day: dayTotal, month: monthTotal, userDay, userMonth };
  }

  private shardSuffix(): string {
    const { shards, random } = this.sharding;
    return shards > 1 ? `#${Math.floor(random.next() * shards)}` : '';
  }

  /** One ADD update of a cell (its counts and, for a detail cell, its target's performance); returns its cost after the addition when asked. */
  private async add(
    pk: string,
    sk: string,
    counts: AggregateCounts | undefined,
    expiresAt: number,
    labels: Record<string, string>,
    returnCost = false,
    performance?: CellPerformance,
  ): Promise<number | null> {
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
    const sets = [
      '#exp = :exp',
      ...Object.entries(labels).map(([key, value], i) => {
        names[`#l${i}`] = key;
        values[`:l${i}`] = value;
        return `#l${i} = :l${i}`;
      }),
    ];
    const out = await this.client.send(
      new UpdateCommand({
        TableName: this.tables.aggregates,
        Key: { pk, sk },
        UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: returnCost ? 'UPDATED_NEW' : 'NONE',
      }),
    );
    return returnCost ? Number(out.Attributes?.['costMicros'] ?? 0) : null;
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
          const counts = Object.fromEntries(COUNT_FIELDS.map((f) => [f, Number(item[f] ?? 0)])) as unknown as AggregateCounts;
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

  async recordsOfDay(day: string): Promise<UsageRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.tables.records,
      IndexName: 'byDay',
      KeyConditionExpression: '#day = :day',
      ExpressionAttributeNames: { '#day': 'day' },
      ExpressionAttributeValues: { ':day': day },
    });
    return items.map((item) => {
      const { expiresAt: _expiresAt, ...rest } = item;
      const nullable = [
        'userId',
        'keyId',
        'taskType',
        'path',
        'provider',
        'model',
        'costMicros',
        'timeToFirstTokenMs',
        'errorClass',
      ] as const;
      return { ...Object.fromEntries(nullable.map((k) => [k, null])), ...rest } as unknown as UsageRecord;
    });
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

  claim(key: string, expiresAt: number): Promise<boolean> {
    return putIfAbsent(this.client, this.tables.aggregates, { pk: 'alert', sk: key, expiresAt }, 'pk');
  }
}
