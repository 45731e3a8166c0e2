/**
 * `CacheStore` on DynamoDB: one item per entry (`scope` / `key`), the answer gzip-compressed in a
 * binary attribute, DynamoDB's TTL on `expiresAt` (epoch seconds; readers check the exact expiry too,
 * since TTL deletes late). An answer that does not fit in an item once compressed is not cached.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { deleteAll } from './queries';
import type { CachedAnswer, CacheStore } from '../../core/ai/response-cache';

/** DynamoDB items are at most 400 KB; the rest of the item and its keys take well under 20 KB. */
export const MAX_COMPRESSED_BYTES = 380_000;

export class DynamoDbCacheStore implements CacheStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(scope: string, key: string): Promise<CachedAnswer | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.table, Key: { scope, key } }));
    const item = out.Item;
    if (!item) return undefined;
    const value = JSON.parse(gunzipSync(item['value'] as Uint8Array).toString('utf8')) as Omit<CachedAnswer, 'scope' | 'key'>;
    return { ...value, scope, key };
  }

  async put(entry: CachedAnswer): Promise<boolean> {
    const { scope, key, ...value } = entry;
    const compressed = gzipSync(JSON.stringify(value));
    if (compressed.length > MAX_COMPRESSED_BYTES) return false;
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        // One whole item per write: two requests storing the same key at once leave one complete entry.
        Item: { scope, key, value: compressed, createdAt: entry.createdAt, expiresAt: Math.ceil(entry.expiresAt / 1000) },
      }),
    );
    return true;
  }

  async delete(scope: string, key: string): Promise<boolean> {
    const out = await this.client.send(new DeleteCommand({ TableName: this.table, Key: { scope, key }, ReturnValues: 'ALL_OLD' }));
    return out.Attributes !== undefined;
  }

  async purgeScope(scope: string): Promise<number> {
    let deleted = 0;
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#scope = :scope',
          ExpressionAttributeNames: { '#scope': 'scope', '#key': 'key' },
          ExpressionAttributeValues: { ':scope': scope },
          ProjectionExpression: '#scope, #key',
          ...(cursor ? { ExclusiveStartKey: cursor } : {}),
        }),
      );
      const keys = (page.Items ?? []) as Array<{ scope: string; key: string }>;
      await deleteAll(
        this.client,
        this.table,
        keys.map((k) => ({ scope: k.scope, key: k.key })),
      );
      deleted += keys.length;
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return deleted;
  }
}
