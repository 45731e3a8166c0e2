/** DynamoDB request shapes the adapters share: every page of a query, a put only if the key is free, batched deletes. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isDeepStrictEqual } from 'node:util';
import type { ItemWrites } from './item-writes';

/** Deletes the items with these keys, 25 per batch, until DynamoDB has processed every one (or throws). */
export async function deleteAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: ReadonlyArray<Record<string, unknown>>,
): Promise<void> {
  for (let i = 0; i < keys.length; i += 25) {
    let pending: Record<string, Array<Record<string, unknown>>> | undefined = {
      [tableName]: keys.slice(i, i + 25).map((key) => ({ DeleteRequest: { Key: key } })),
    };
    // Unprocessed items (throttling) are sent again after a growing pause, at most 8 times.
    for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt++) {
      if (attempt >= 8) throw new Error(`${tableName}: deletes still unprocessed after ${attempt} attempts`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** attempt)));
      const out = await client.send(new BatchWriteCommand({ RequestItems: pending as never }));
      pending = out.UnprocessedItems as typeof pending;
    }
  }
}

/** Every item a query matches, following `LastEvaluatedKey` page by page. */
export async function queryAll(
  client: DynamoDBDocumentClient,
  input: ConstructorParameters<typeof QueryCommand>[0],
): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const out = await client.send(new QueryCommand({ ...input, ...(cursor ? { ExclusiveStartKey: cursor } : {}) }));
    items.push(...((out.Items ?? []) as Array<Record<string, unknown>>));
    cursor = out.LastEvaluatedKey;
  } while (cursor);
  return items;
}

/**
 * The item a write's failed condition found: the one DynamoDB returns with the failure (asked for with
 * `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`), or read back from an engine that returns none
 * (dynalite). The SDK sends a write again when its answer was lost, and the condition then fails on
 * the write's own first landing: comparing this item with the write tells the two apart.
 */
export async function itemFound(
  error: ConditionalCheckFailedException,
  readBack: () => Promise<Record<string, unknown> | undefined>,
): Promise<Record<string, unknown> | undefined> {
  return error.Item ? unmarshall(error.Item) : readBack();
}

/** Whether a value read back is `written`, compared as stored: fields left undefined are not written. */
export function storedAs(found: unknown, written: unknown): boolean {
  return isDeepStrictEqual(found, JSON.parse(JSON.stringify(written)));
}

/** Writes `item` unless an item with its key exists (`keyAttribute` is the partition key); true when written. */
export async function putIfAbsent(
  writes: ItemWrites,
  tableName: string,
  item: Record<string, unknown>,
  keyAttribute: string,
): Promise<boolean> {
  try {
    await writes.put({
      TableName: tableName,
      Item: item,
      ConditionExpression: 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': keyAttribute },
    });
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
