/** `IdempotencyStore` on DynamoDB: one item per (user, key), claimed with a conditional put. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ClaimResult, IdempotencyStore } from '../../core/messaging/ports';

interface IdempotencyItem {
  pk: string;
  state: 'pending' | 'done';
  fingerprint: string;
  leaseUntil?: number;
  status?: number;
  body?: string;
  expiresAt: number;
}

export class DynamoDbIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(key: string, fingerprint: string, now: number, leaseMs: number, expiresAt: number): Promise<ClaimResult> {
    const item: IdempotencyItem = { pk: key, state: 'pending', fingerprint, leaseUntil: now + leaseMs, expiresAt };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          // Free, expired (TTL deletes late), or a pending claim whose owner died.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowSeconds OR (#state = :pending AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':nowSeconds': Math.floor(now / 1000), ':pending': 'pending', ':now': now },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { state: 'claimed' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = error.Item
        ? (unmarshall(error.Item) as IdempotencyItem)
        : ((await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true }))).Item as
            IdempotencyItem | undefined);
      // Deleted between the put and the read: try once more.
      if (!existing) return this.claim(key, fingerprint, now, leaseMs, expiresAt);
      return existing.state === 'done'
        ? { state: 'completed', fingerprint: existing.fingerprint, status: existing.status ?? 200, body: existing.body ?? '' }
        : { state: 'in_progress', fingerprint: existing.fingerprint };
    }
  }

  async complete(key: string, fingerprint: string, status: number, body: string, expiresAt: number): Promise<void> {
    const item: IdempotencyItem = { pk: key, state: 'done', fingerprint, status, body, expiresAt };
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async release(key: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: key },
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':pending': 'pending' },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
