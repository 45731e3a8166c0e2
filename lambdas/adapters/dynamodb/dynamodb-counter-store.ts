/**
 * `CounterStore` on DynamoDB: one item per counter key, every counter stored as short number
 * attributes so an item stays below 1 KB (one write unit):
 * - a calendar counter `<name>`: `<name>w` window index, `<name>n` count, `<name>v` violations;
 * - a sliding log: `<name>t<slot>`, the time of the slot's last admission;
 * - a sliding ring: `<name>h` newest bucket, `<name>s` total, `<name>c<slot>` counts;
 * - a token settlement sync slot `s<n>`: `s<n>w` quota day, `s<n>q` version, `s<n>d` cumulative change.
 * Every write is a single conditional `UpdateItem` returning the new item; a failed condition returns
 * the old item where DynamoDB supports it (dynalite does not: the engine then reads it).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { documentWrites, type ItemWrites } from './item-writes';
import type {
  CounterAdjustment,
  CounterState,
  CounterStore,
  CounterWrite,
  LogValue,
  RingValue,
  SyncValue,
  WriteResult,
} from '../../core/rate-limit/ports';

const FIXED_ATTRIBUTE = /^([a-z]+)w$/;
const LOG_ATTRIBUTE = /^([a-z]+)t(\d+)$/;
const RING_NEWEST = /^([a-z]+)h$/;
const RING_COUNT = /^([a-z]+)c(\d+)$/;
const SYNC_DAY = /^(s\d)w$/;
const SYNC_ATTRIBUTE = /^s\d[wqd]$/;

/** Reads the counters out of a stored item. */
export function counterState(item: Record<string, unknown> | undefined): CounterState | null {
  if (!item) return null;
  const state: CounterState = {};
  const logs = new Map<string, LogValue>();
  const rings = new Map<string, RingValue>();
  const ring = (name: string): RingValue => {
    let value = rings.get(name);
    if (!value) rings.set(name, (value = { kind: 'ring', newest: undefined, total: Number(item[`${name}s`] ?? 0), counts: [] }));
    return value;
  };
  for (const [attribute, value] of Object.entries(item)) {
    if (typeof value !== 'number') continue;
    let match: RegExpExecArray | null;
    if ((match = FIXED_ATTRIBUTE.exec(attribute))) {
      const name = match[1]!;
      state[name] = { window: value, count: Number(item[`${name}n`] ?? 0), violations: Number(item[`${name}v`] ?? 0) };
    } else if ((match = LOG_ATTRIBUTE.exec(attribute))) {
      const name = match[1]!;
      if (!logs.has(name)) logs.set(name, { kind: 'log', times: [] });
      logs.get(name)!.times[Number(match[2])] = value;
    } else if ((match = RING_NEWEST.exec(attribute))) {
      ring(match[1]!).newest = value;
    } else if ((match = RING_COUNT.exec(attribute))) {
      ring(match[1]!).counts[Number(match[2])] = value;
    } else if ((match = SYNC_DAY.exec(attribute))) {
      const name = match[1]!;
      const synced: SyncValue = {
        kind: 'sync',
        window: value,
        version: Number(item[`${name}q`] ?? 0),
        delta: Number(item[`${name}d`] ?? 0),
      };
      state[name] = synced;
    }
  }
  for (const [name, value] of logs) state[name] = { kind: 'log', times: Array.from(value.times, (t) => t ?? 0) };
  for (const [name, value] of rings) state[name] = { ...value, counts: Array.from(value.counts, (c) => c ?? 0) };
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

/** The clauses of one update: `SET` and `ADD` actions and the conditions they rely on. */
class Update {
  readonly e = new Expression();
  readonly sets: string[] = [];
  readonly adds: string[] = [];
  readonly conditions: string[] = [];
  set(attribute: string, value: unknown): void {
    this.sets.push(`${this.e.name(attribute)} = ${this.e.value(value)}`);
  }
  add(attribute: string, value: number): void {
    this.adds.push(`${this.e.name(attribute)} ${this.e.value(value)}`);
  }
  /** `attribute` equals `value`, where a missing attribute counts as 0. */
  equalsOrZero(attribute: string, value: number): string {
    const a = this.e.name(attribute);
    return value === 0 ? `(attribute_not_exists(${a}) OR ${a} = ${this.e.value(0)})` : `${a} = ${this.e.value(value)}`;
  }
  get expression(): string {
    return [this.sets.length > 0 ? `SET ${this.sets.join(', ')}` : '', this.adds.length > 0 ? `ADD ${this.adds.join(', ')}` : '']
      .filter(Boolean)
      .join(' ');
  }
}

function planWrite(u: Update, write: CounterWrite): void {
  const { e } = u;
  switch (write.kind) {
    case 'add': {
      u.add(`${write.name}n`, write.add);
      u.conditions.push(`${e.name(`${write.name}w`)} = ${e.value(write.window)}`);
      if (write.limit !== undefined) u.conditions.push(`${e.name(`${write.name}n`)} < ${e.value(write.limit)}`);
      return;
    }
    case 'reset': {
      const w = e.name(`${write.name}w`);
      u.set(`${write.name}w`, write.window);
      u.set(`${write.name}n`, write.add);
      u.set(`${write.name}v`, write.violations ?? 0);
      u.conditions.push(write.expected === null ? `attribute_not_exists(${w})` : `${w} = ${e.value(write.expected)}`);
      return;
    }
    case 'full': {
      u.conditions.push(`${e.name(`${write.name}w`)} = ${e.value(write.window)}`);
      u.conditions.push(`${e.name(`${write.name}n`)} >= ${e.value(write.limit)}`);
      return;
    }
    case 'full-log': {
      for (let slot = 0; slot < write.slots; slot++) u.conditions.push(`${e.name(`${write.name}t${slot}`)} > ${e.value(write.freeBefore)}`);
      return;
    }
    case 'full-ring': {
      u.conditions.push(`${e.name(`${write.name}h`)} = ${e.value(write.bucket)}`);
      u.conditions.push(`${e.name(`${write.name}s`)} >= ${e.value(write.limit)}`);
      return;
    }
    case 'violation': {
      u.add(`${write.name}v`, 1);
      u.conditions.push(`${e.name(`${write.name}w`)} = ${e.value(write.window)}`);
      return;
    }
    case 'claim': {
      const t = e.name(`${write.name}t${write.slot}`);
      u.set(`${write.name}t${write.slot}`, write.at);
      u.conditions.push(`(attribute_not_exists(${t}) OR ${t} <= ${e.value(write.freeBefore)})`);
      return;
    }
    case 'bucket-add': {
      u.add(`${write.name}c${write.slot}`, 1);
      u.add(`${write.name}s`, 1);
      u.conditions.push(`${e.name(`${write.name}h`)} = ${e.value(write.bucket)}`, `${e.name(`${write.name}s`)} < ${e.value(write.limit)}`);
      return;
    }
    case 'bucket-roll': {
      const h = e.name(`${write.name}h`);
      const total = e.name(`${write.name}s`);
      u.set(`${write.name}h`, write.bucket);
      u.set(`${write.name}c${write.slot}`, 1);
      for (const evicted of write.evict) {
        if (evicted.slot !== write.slot) u.set(`${write.name}c${evicted.slot}`, 0);
        u.conditions.push(u.equalsOrZero(`${write.name}c${evicted.slot}`, evicted.count));
      }
      if (write.from === null) {
        u.set(`${write.name}s`, 1);
        u.conditions.push(`attribute_not_exists(${h})`);
      } else {
        const delta = 1 - write.evict.reduce((sum, x) => sum + x.count, 0);
        u.sets.push(`${total} = ${total} + ${e.value(delta)}`);
        u.conditions.push(`${h} = ${e.value(write.from)}`, `${total} <= ${e.value(write.limit - delta)}`);
      }
      return;
    }
  }
}

function planAdjustment(u: Update, adjustment: CounterAdjustment): void {
  const { e } = u;
  switch (adjustment.kind) {
    case 'fixed':
      u.add(`${adjustment.name}${adjustment.field === 'count' ? 'n' : 'v'}`, adjustment.add);
      u.conditions.push(`${e.name(`${adjustment.name}w`)} = ${e.value(adjustment.window)}`);
      return;
    case 'release':
      u.set(`${adjustment.name}t${adjustment.slot}`, 0);
      u.conditions.push(`${e.name(`${adjustment.name}t${adjustment.slot}`)} = ${e.value(adjustment.at)}`);
      return;
    case 'bucket':
      u.add(`${adjustment.name}c${adjustment.slot}`, adjustment.add);
      u.add(`${adjustment.name}s`, adjustment.add);
      u.conditions.push(
        `${e.name(`${adjustment.name}h`)} BETWEEN ${e.value(adjustment.bucket)} AND ${e.value(adjustment.bucket + adjustment.size - 1)}`,
      );
      return;
    case 'sync': {
      const w = e.name(`${adjustment.name}w`);
      u.set(`${adjustment.name}w`, adjustment.window);
      u.set(`${adjustment.name}q`, adjustment.version);
      u.set(`${adjustment.name}d`, adjustment.delta);
      u.conditions.push(
        adjustment.expected === null
          ? `(attribute_not_exists(${w}) OR ${w} < ${e.value(adjustment.window)})`
          : `${w} = ${e.value(adjustment.window)} AND ${e.name(`${adjustment.name}q`)} = ${e.value(adjustment.expected)}`,
      );
      return;
    }
  }
}

export class DynamoDbCounterStore implements CounterStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** How the writes (admissions, adjustments) are sent; the reads and clears go through `client`. */
    private readonly writes: ItemWrites = documentWrites(client),
    /**
     * How an adjustment that would count twice if applied twice (a refund's decrease) is sent: never
     * retried by the SDK, whose retry of a timed-out attempt may repeat one already applied. A refund
     * lost that way leaves the slot counted: the limit errs on the safe side.
     */
    private readonly writesOnce: ItemWrites = writes,
  ) {}

  write(key: string, writes: CounterWrite[], expiresAt: number): Promise<WriteResult> {
    const u = new Update();
    u.set('expiresAt', expiresAt);
    for (const write of writes) planWrite(u, write);
    return this.update(key, u);
  }

  adjust(key: string, adjustments: CounterAdjustment[]): Promise<WriteResult> {
    const u = new Update();
    for (const adjustment of adjustments) planAdjustment(u, adjustment);
    // A write carrying a settlement's version, or only releases of a slot at a time, applies once however often it is sent.
    const repeatable = adjustments.some((a) => a.kind === 'sync') || adjustments.every((a) => a.kind === 'release');
    return this.update(key, u, repeatable ? this.writes : this.writesOnce);
  }

  private async update(key: string, u: Update, writes = this.writes): Promise<WriteResult> {
    const conditions = [...new Set(u.conditions)];
    try {
      const attributes = await writes.update({
        TableName: this.tableName,
        Key: { pk: key },
        UpdateExpression: u.expression,
        ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
        ExpressionAttributeNames: u.e.names,
        ExpressionAttributeValues: u.e.values,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      return { ok: true, state: counterState(attributes) ?? {} };
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

  async clearCounters(key: string): Promise<void> {
    const item = (await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true }))).Item;
    const counters = Object.keys(item ?? {}).filter(
      (attribute) => attribute !== 'pk' && attribute !== 'expiresAt' && !SYNC_ATTRIBUTE.test(attribute),
    );
    if (counters.length === 0) return;
    const names = Object.fromEntries(counters.map((attribute, i) => [`#a${i}`, attribute]));
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key },
          UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
        }),
      )
      .catch((error: unknown) => {
        // Gone meanwhile (expired): nothing left to clear.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  async remove(keys: string[]): Promise<void> {
    await Promise.all(keys.map((pk) => this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk } }))));
  }
}
