/**
 * `HealthStore` on DynamoDB (table `provider-health`):
 * - one `states` item holding every target's breaker as an attribute `s:<provider>/<model>`, each
 *   written whole by a conditional `UpdateItem` on the version it read (one winner per transition),
 *   and read by every instance with one `GetItem` per refresh;
 * - one `stats#<provider>/<model>` item per target with its counters in a ring of time slots
 *   (`k<i>` slot number, `s<i>` successes, `f<i>` failures, `n<i>` tokens, `l<i>`/`t<i>` latency and
 *   first-event histograms), failures in a row (`cf`), the last outcome's time (`at`) and the
 *   provider's last reported limits (`lim`). An instance adds its batch in one `UpdateItem` that
 *   returns the counters after it; a slot whose turn came round again is restarted (conditionally).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ProviderLimits } from '../../core/ai/provider-limits';
import { itemFound, storedAs } from './queries';
import type { HealthStore, OutcomeDelta, StatsSlot, TargetState, TargetStats } from '../../core/health/ports';

const STATES_KEY = 'states';
const STATE_PREFIX = 's:';
const statsKey = (key: string) => `stats#${key}`;

function histogram(map: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!map || typeof map !== 'object') return out;
  for (const [name, count] of Object.entries(map as Record<string, unknown>)) {
    if (name.startsWith('b') && typeof count === 'number') out[name.slice(1)] = count;
  }
  return out;
}

/** Reads a stats item (any ring size) into slots. */
export function statsOf(item: Record<string, unknown> | undefined): TargetStats {
  const slots: StatsSlot[] = [];
  for (const [attribute, value] of Object.entries(item ?? {})) {
    const match = /^k(\d+)$/.exec(attribute);
    if (!match || typeof value !== 'number') continue;
    const i = match[1];
    slots.push({
      slot: value,
      successes: Number(item![`s${i}`] ?? 0),
      failures: Number(item![`f${i}`] ?? 0),
      tokens: Number(item![`n${i}`] ?? 0),
      latency: histogram(item![`l${i}`]),
      firstEvent: histogram(item![`t${i}`]),
    });
  }
  return {
    slots: slots.sort((a, b) => a.slot - b.slot),
    consecutiveFailures: Number(item?.['cf'] ?? 0),
    lastAt: Number(item?.['at'] ?? 0),
    ...(item?.['lim'] ? { limits: item['lim'] as ProviderLimits } : {}),
  };
}

/** An update whose names and values are only those its expressions use (DynamoDB rejects unused ones). */
function update(
  tableName: string,
  pk: string,
  expression: { update: string; condition: string },
  names: Record<string, string>,
  values: Record<string, unknown>,
): UpdateCommand {
  const text = `${expression.update} ${expression.condition}`;
  const uses = (placeholder: string) => new RegExp(`${placeholder}(?![\\w])`).test(text);
  return new UpdateCommand({
    TableName: tableName,
    Key: { pk },
    UpdateExpression: expression.update,
    ConditionExpression: expression.condition,
    ExpressionAttributeNames: Object.fromEntries(Object.entries(names).filter(([placeholder]) => uses(placeholder))),
    ExpressionAttributeValues: Object.fromEntries(Object.entries(values).filter(([placeholder]) => uses(placeholder))),
    ReturnValues: 'ALL_NEW',
  });
}

const bucketMap = (h: Record<string, number>) => Object.fromEntries(Object.entries(h).map(([bucket, count]) => [`b${bucket}`, count]));

export class DynamoDbHealthStore implements HealthStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async states(): Promise<Record<string, TargetState>> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: STATES_KEY }, ConsistentRead: true }));
    const states: Record<string, TargetState> = {};
    for (const [attribute, value] of Object.entries(out.Item ?? {})) {
      if (attribute.startsWith(STATE_PREFIX)) states[attribute.slice(STATE_PREFIX.length)] = value as TargetState;
    }
    return states;
  }

  async transition(key: string, expected: number, next: TargetState): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: STATES_KEY },
          UpdateExpression: 'SET #state = :next',
          ConditionExpression: expected === 0 ? 'attribute_not_exists(#state)' : '#state.#v = :expected',
          ExpressionAttributeNames: { '#state': `${STATE_PREFIX}${key}`, ...(expected === 0 ? {} : { '#v': 'v' }) },
          ExpressionAttributeValues: { ':next': next, ...(expected === 0 ? {} : { ':expected': expected }) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Made anyway, when the state found is this transition (see `itemFound`).
      const found = await itemFound(error, async () => ({ [`${STATE_PREFIX}${key}`]: (await this.states())[key] }));
      return storedAs(found?.[`${STATE_PREFIX}${key}`], next);
    }
  }

  async record(key: string, delta: OutcomeDelta, slot: number, ringSize: number, now: number): Promise<TargetStats> {
    const i = slot % ringSize;
    const names: Record<string, string> = {
      '#k': `k${i}`,
      '#s': `s${i}`,
      '#f': `f${i}`,
      '#n': `n${i}`,
      '#l': `l${i}`,
      '#t': `t${i}`,
      '#at': 'at',
      '#cf': 'cf',
    };
    const values: Record<string, unknown> = {
      ':slot': slot,
      ':s': delta.successes,
      ':f': delta.failures,
      ':n': delta.tokens,
      ':now': now,
      ':tf': delta.trailingFailures,
    };
    const sets = ['#at = :now', delta.hadSuccess ? '#cf = :tf' : '#cf = if_not_exists(#cf, :zero) + :tf'];
    if (!delta.hadSuccess) values[':zero'] = 0;
    if (delta.limits) {
      names['#lim'] = 'lim';
      values[':lim'] = delta.limits;
      sets.push('#lim = :lim');
    }
    // The slot is current: add to it (histogram buckets inside its maps).
    const adds = ['#s :s', '#f :f', '#n :n'];
    const addHistogram = (prefix: string, map: string, h: Record<string, number>) => {
      for (const [bucket, count] of Object.entries(h)) {
        names[`#${prefix}${bucket}`] = `b${bucket}`;
        values[`:${prefix}${bucket}`] = count;
        adds.push(`${map}.#${prefix}${bucket} :${prefix}${bucket}`);
      }
    };
    addHistogram('lb', '#l', delta.latency);
    addHistogram('tb', '#t', delta.firstEvent);
    const add = update(
      this.tableName,
      statsKey(key),
      { update: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`, condition: '#k = :slot' },
      names,
      values,
    );
    // The slot holds an older turn (or nothing): start it again with this batch.
    const restart = update(
      this.tableName,
      statsKey(key),
      {
        update: `SET ${[...sets, '#k = :slot', '#s = :s', '#f = :f', '#n = :n', '#l = :lmap', '#t = :tmap'].join(', ')}`,
        condition: 'attribute_not_exists(#k) OR #k < :slot',
      },
      names,
      { ...values, ':lmap': bucketMap(delta.latency), ':tmap': bucketMap(delta.firstEvent) },
    );
    for (let attempt = 0; attempt < 3; attempt++) {
      for (const command of [add, restart]) {
        try {
          const out = await this.client.send(command);
          return statsOf(out.Attributes);
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
    }
    // The slot belongs to a later turn (this instance's clock is behind): the batch is dropped.
    return this.statsOne(key);
  }

  async resetFailures(key: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: statsKey(key) },
        UpdateExpression: 'SET #cf = :zero',
        ExpressionAttributeNames: { '#cf': 'cf' },
        ExpressionAttributeValues: { ':zero': 0 },
      }),
    );
  }

  private async statsOne(key: string): Promise<TargetStats> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: statsKey(key) } }));
    return statsOf(out.Item);
  }

  async stats(keys: string[]): Promise<Record<string, TargetStats>> {
    const result: Record<string, TargetStats> = Object.fromEntries(keys.map((key) => [key, statsOf(undefined)]));
    for (let start = 0; start < keys.length; start += 100) {
      let request: Record<string, { Keys: Array<Record<string, unknown>> }> | undefined = {
        [this.tableName]: { Keys: keys.slice(start, start + 100).map((key) => ({ pk: statsKey(key) })) },
      };
      while (request && Object.keys(request).length > 0) {
        const out = await this.client.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of out.Responses?.[this.tableName] ?? []) result[String(item['pk']).slice('stats#'.length)] = statsOf(item);
        request = out.UnprocessedKeys as typeof request;
      }
    }
    return result;
  }
}
