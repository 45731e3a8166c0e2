/**
 * `ProviderConfigStore` on DynamoDB: one `provider-configs` item in the provider-health table holding
 * every runtime provider configuration (`configs`, a map; never a key) and its `version`. Read with one
 * consistent `GetItem` per refresh; replaced whole with a `PutItem` conditioned on the version it read,
 * so of two concurrent admin changes one wins and the other is told to retry.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isDeepStrictEqual } from 'node:util';
import type { ProviderConfigDocument, ProviderConfigStore, StoredProviderConfig } from '../../core/ai/provider-configs';

const KEY = 'provider-configs';

export class DynamoDbProviderConfigStore implements ProviderConfigStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(): Promise<ProviderConfigDocument> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: KEY }, ConsistentRead: true }));
    return {
      version: Number(Item?.['version'] ?? 0),
      configs: (Item?.['configs'] ?? {}) as Record<string, StoredProviderConfig>,
    };
  }

  async write(next: ProviderConfigDocument): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: KEY, version: next.version, configs: next.configs },
          ConditionExpression: next.version === 1 ? 'attribute_not_exists(pk)' : '#v = :previous',
          ...(next.version === 1
            ? {}
            : { ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':previous': next.version - 1 } }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The SDK sends a write again when its answer was lost: the write may have landed on the first
      // try, and then it is the one the condition finds. (dynalite returns no item: read it.)
      const found = error.Item ? unmarshall(error.Item) : await this.read();
      // Compared as stored: the fields left undefined are not written.
      return (
        Number(found['version']) === next.version && isDeepStrictEqual(found['configs'] ?? {}, JSON.parse(JSON.stringify(next.configs)))
      );
    }
  }
}
