/** `ApiKeyStore` on DynamoDB: items keyed by the key's SHA-256 hash, indexes by id and by user. */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { ApiKeyRecord } from '../../core/access/ports';
import type { ApiKeyStore } from '../../core/access/ports';
import { queryAll } from './queries';

export class DynamoDbApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async findByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { keyHash } }));
    return out.Item as ApiKeyRecord | undefined;
  }

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byId',
        KeyConditionExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': id },
        Limit: 1,
      }),
    );
    return out.Items?.[0] as ApiKeyRecord | undefined;
  }

  async put(record: ApiKeyRecord): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: record }));
  }

  async listByUser(userId: string): Promise<ApiKeyRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'byUser',
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
    });
    return items as unknown as ApiKeyRecord[];
  }

  async revoke(keyHash: string, revokedAt: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { keyHash },
          UpdateExpression: 'SET #s = :revoked, revokedAt = if_not_exists(revokedAt, :at)',
          ConditionExpression: 'attribute_exists(keyHash)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':revoked': 'revoked', ':at': revokedAt },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.client.send(new GetCommand({ TableName: this.tableName, Key: { keyHash: '__readiness__' } }));
  }
}
