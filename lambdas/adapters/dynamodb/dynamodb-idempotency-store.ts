/** `IdempotencyStore` on DynamoDB: one item per (user, key), claimed with a conditional put. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ClaimResult, IdempotencyStore } from '../../core/messaging/ports';
import { itemFound } from './queries';

interface IdempotencyItem {
  pk: string;
  state: 'pending' | 'done';
  fingerprint: string;
  /** The request that holds (or held) the claim. */
  owner?: string;
  leaseUntil?: number;
  status?: number;
  body?: string;
  expiresAt: number;
}

/** The condition of a write only the claim's owner may make: the claim is still pending, and still theirs. */
const ownedBy = (owner: string) => ({
  ConditionExpression: '#state = :pending AND #owner = :owner',
  ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner' },
  ExpressionAttributeValues: { ':pending': 'pending', ':owner': owner },
});

export class DynamoDbIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(
    key: string,
    claim: { owner: string; fingerprint: string; now: number; leaseUntil: number; expiresAt: number },
  ): Promise<ClaimResult> {
    const { owner, fingerprint, now, leaseUntil, expiresAt } = claim;
    const item: IdempotencyItem = { pk: key, state: 'pending', fingerprint, owner, leaseUntil, expiresAt };
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
      const existing = (await itemFound(error, () => this.read(key))) as IdempotencyItem | undefined;
      // Deleted between the put and the read: try once more.
      if (!existing) return this.claim(key, claim);
      // This claim itself, landed on a first attempt whose answer was lost (see `itemFound`).
      if (existing.state === 'pending' && existing.owner === owner) return { state: 'claimed' };
      return existing.state === 'done'
        ? { state: 'completed', fingerprint: existing.fingerprint, status: existing.status ?? 200, body: existing.body ?? '' }
        : { state: 'in_progress', fingerprint: existing.fingerprint };
    }
  }

  async complete(
    key: string,
    owner: string,
    result: { fingerprint: string; status: number; body: string; expiresAt: number },
  ): Promise<boolean> {
    const item: IdempotencyItem = { pk: key, state: 'done', owner, ...result };
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: item, ...ownedBy(owner), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Stored anyway by a first attempt whose answer was lost (see `itemFound`).
      const found = await itemFound(error, () => this.read(key));
      return found?.['state'] === 'done' && found['owner'] === owner;
    }
  }

  private async read(key: string): Promise<Record<string, unknown> | undefined> {
    return (await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true }))).Item;
  }

  async release(key: string, owner: string): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: key }, ...ownedBy(owner) }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
