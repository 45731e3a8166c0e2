/**
 * `ProviderConfigStore` on DynamoDB: one `provider-configs` item in the provider-health table holding
 * every runtime provider configuration (`configs`, a map; never a key) and its `version`. Read with one
 * consistent `GetItem` per refresh; replaced whole with a `PutItem` conditioned on the version it read,
 * so of two concurrent admin changes one wins and the other is told to retry.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ProviderConfigDocument, ProviderConfigStore, StoredProviderConfig } from '../../core/ai/provider-configs';
import { itemFound, storedAs } from './queries';

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
      // Made anyway, when the document found is this one (see `itemFound`).
      const found = await itemFound(error, async () => ({ ...(await this.read()) }));
      return Number(found?.['version']) === next.version && storedAs(found?.['configs'] ?? {}, next.configs);
    }
  }
}
