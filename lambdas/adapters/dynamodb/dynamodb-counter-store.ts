/**
 * `CounterStore` on DynamoDB: one item per counter key, each counter stored as three short number
 * attributes (`<name>w` window index, `<name>n` count, `<name>v` violations) so an item stays far
 * below 1 KB (one write unit). Every write is a single conditional `UpdateItem` returning the new
 * item; a failed condition returns the old item where DynamoDB supports it (dynalite does not: the
 * engine then reads it).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { CounterAdjustment, CounterState, CounterStore, CounterWrite, WriteResult } from '../../core/rate-limit/ports';

const COUNTER_ATTRIBUTE = /^([a-z]+)w$/;

/** Reads the counters out of a stored item. */
export function counterState(item: Record<string, unknown> | undefined): CounterState | null {
  if (!item) return null;
  const state: CounterState = {};
  for (const [attribute, value] of Object.entries(item)) {
    const match = COUNTER_ATTRIBUTE.exec(attribute);
    if (!match?.[1] || typeof value !== 'number') continue;
    const name = match[1];
    state[name] = { window: value, count: Number(item[`${name}n`] ?? 0), violations: Number(item[`${name}v`] ?? 0) };
  }
  return state;
}

/** Builds expressions with placeholders, so counter names never collide with reserved words. */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private n = 0;
  name(attribute: string): string {
    const placeholder = `#${attribute}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }
  value(v: unknown): string {
    const placeholder = `:v${this.n++}`;
    this.values[placeholder] = v;
    return placeholder;
  }
}

export class DynamoDbCounterStore implements CounterStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  write(key: string, writes: CounterWrite[], expiresAt: number): Promise<WriteResult> {
    const e = new Expression();
    const sets = [`${e.name('expiresAt')} = ${e.value(expiresAt)}`];
    const adds: string[] = [];
    const conditions: string[] = [];
    for (const write of writes) {
      const w = e.name(`${write.name}w`);
      const n = e.name(`${write.name}n`);
      if (write.kind === 'add') {
        adds.push(`${n} ${e.value(write.add)}`);
        conditions.push(`${w} = ${e.value(write.window)}`);
        if (write.limit !== undefined) conditions.push(`${n} < ${e.value(write.limit)}`);
      } else {
        sets.push(`${w} = ${e.value(write.window)}`, `${n} = ${e.value(write.add)}`, `${e.name(`${write.name}v`)} = ${e.value(0)}`);
        conditions.push(write.expected === null ? `attribute_not_exists(${w})` : `${w} = ${e.value(write.expected)}`);
      }
    }
    const update = `SET ${sets.join(', ')}${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`;
    return this.update(key, update, conditions, e);
  }

  adjust(key: string, adjustments: CounterAdjustment[]): Promise<WriteResult> {
    const e = new Expression();
    const adds: string[] = [];
    const conditions: string[] = [];
    for (const adjustment of adjustments) {
      adds.push(`${e.name(`${adjustment.name}${adjustment.field === 'count' ? 'n' : 'v'}`)} ${e.value(adjustment.add)}`);
      conditions.push(`${e.name(`${adjustment.name}w`)} = ${e.value(adjustment.window)}`);
    }
    return this.update(key, `ADD ${adds.join(', ')}`, [...new Set(conditions)], e);
  }

  private async update(key: string, update: string, conditions: string[], e: Expression): Promise<WriteResult> {
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key },
          UpdateExpression: update,
          ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
          ExpressionAttributeNames: e.names,
          ExpressionAttributeValues: e.values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, state: counterState(out.Attributes) ?? {} };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // `Item` is absent both when the item does not exist and when the engine does not return it: read to know.
      return { ok: false, state: error.Item ? counterState(unmarshall(error.Item)) : undefined };
    }
  }

  async read(key: string): Promise<CounterState | null> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true }));
    return counterState(out.Item);
  }

  async readMany(keys: string[]): Promise<Map<string, CounterState>> {
    const found = new Map<string, CounterState>();
    let pending: Array<Record<string, unknown>> = keys.map((pk) => ({ pk }));
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= 5) throw new Error('DynamoDB left keys unprocessed after 5 rounds');
      const out = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[this.tableName] ?? []) {
        const state = counterState(item);
        if (state) found.set(String(item['pk']), state);
      }
      pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return found;
  }

  async remove(keys: string[]): Promise<void> {
    await Promise.all(keys.map((pk) => this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk } }))));
  }
}
