/**
 * The two writes every AI request makes, its admission on the limiter item and its usage record (put
 * alone or in a batch with other requests' records), as a port of their own, so the gateway can send
 * them the cheap way:
 * - `documentWrites`: through the document client, like every other call (tests, scripts);
 * - `CachedWrites`: through a low-level client built with `cacheMiddleware`, which resolves each
 *   command type's middleware stack once and reuses it. The document client resolves a stack on every
 *   send, twice (its own, then the command's), and cannot be cached: its handler keeps the first
 *   command's input. Values are marshalled here as the document client would (undefined removed).
 *   The README's profile section has the measurement.
 *
 * A cached stack also shares one handler context among every call of a command type in flight. That
 * is safe as long as what the middleware writes there is the same for every call: one region, one
 * endpoint (no table named by an ARN of another region or account), one credential source.
 */
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
  type PutItemCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

type Expressions = Pick<UpdateItemCommandInput, 'TableName' | 'ConditionExpression' | 'ExpressionAttributeNames'> & {
  /** Plain values, as the document client takes them. */
  ExpressionAttributeValues?: Record<string, unknown>;
};

/** An `UpdateItem` with plain values. */
export type ItemUpdate = Expressions &
  Pick<UpdateItemCommandInput, 'UpdateExpression' | 'ReturnValues' | 'ReturnValuesOnConditionCheckFailure'> & {
    Key: Record<string, unknown>;
  };

/** A `PutItem` with plain values. */
export type ItemPut = Expressions & Pick<PutItemCommandInput, 'ReturnValuesOnConditionCheckFailure'> & { Item: Record<string, unknown> };

/**
 * Port: the request path's writes. A failed condition throws the SDK's
 * `ConditionalCheckFailedException`, its `Item` (when asked for) in DynamoDB's attribute-value form.
 */
export interface ItemWrites {
  /** The item's attributes as `ReturnValues` asks (plain values), if any. */
  update(input: ItemUpdate): Promise<Record<string, unknown> | undefined>;
  put(input: ItemPut): Promise<void>;
  /**
   * One `BatchWriteItem` of unconditional puts into one table (at most 25 items, no two with one key).
   * Resolves with the items DynamoDB left unprocessed (throttled: not written), in plain values.
   */
  batchPut(tableName: string, items: ReadonlyArray<Record<string, unknown>>): Promise<Array<Record<string, unknown>>>;
}

export function documentWrites(client: DynamoDBDocumentClient): ItemWrites {
  return {
    update: async (input) => (await client.send(new UpdateCommand(input))).Attributes,
    put: async (input) => {
      await client.send(new PutCommand(input));
    },
    batchPut: async (tableName, items) => {
      const out = await client.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: items.map((Item) => ({ PutRequest: { Item: { ...Item } } })) } }),
      );
      return (out.UnprocessedItems?.[tableName] ?? []).flatMap((request) => (request.PutRequest?.Item ? [request.PutRequest.Item] : []));
    },
  };
}

/** Writes through the `ItemWrites` that `build` makes when first used. */
export function lazyWrites(build: () => ItemWrites): ItemWrites {
  let built: ItemWrites | undefined;
  const writes = () => (built ??= build());
  return {
    update: (input) => writes().update(input),
    put: (input) => writes().put(input),
    batchPut: (tableName, items) => writes().batchPut(tableName, items),
  };
}

/** Like the document client, which marshals an object's own entries (a class instance included), undefined removed. */
const marshalled = (values: Record<string, unknown>) => marshall({ ...values }, { removeUndefinedValues: true });

function marshalledValues(values: Record<string, unknown> | undefined) {
  return values ? { ExpressionAttributeValues: marshalled(values) } : {};
}

export class CachedWrites implements ItemWrites {
  constructor(readonly client: DynamoDBClient) {
    // Without it this is only the low-level client: correct, but no cheaper.
    if (client.config.cacheMiddleware !== true) throw new Error('CachedWrites needs a client built with cacheMiddleware: true');
  }

  async update({ Key, ExpressionAttributeValues, ...rest }: ItemUpdate): Promise<Record<string, unknown> | undefined> {
    const out = await this.client.send(
      new UpdateItemCommand({ ...rest, Key: marshalled(Key), ...marshalledValues(ExpressionAttributeValues) }),
    );
    return out.Attributes && unmarshall(out.Attributes);
  }

  async put({ Item, ExpressionAttributeValues, ...rest }: ItemPut): Promise<void> {
    await this.client.send(new PutItemCommand({ ...rest, Item: marshalled(Item), ...marshalledValues(ExpressionAttributeValues) }));
  }

  async batchPut(tableName: string, items: ReadonlyArray<Record<string, unknown>>): Promise<Array<Record<string, unknown>>> {
    const out = await this.client.send(
      new BatchWriteItemCommand({ RequestItems: { [tableName]: items.map((item) => ({ PutRequest: { Item: marshalled(item) } })) } }),
    );
    return (out.UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
      request.PutRequest?.Item ? [unmarshall(request.PutRequest.Item)] : [],
    );
  }
}
