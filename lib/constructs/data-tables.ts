/** DynamoDB tables from the shared definitions: on-demand, encrypted, point-in-time recovery, TTL. */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, StreamViewType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { TableDefinition } from '../../lambdas/shared/tables';

export interface DataTablesProps {
  /** Table definitions shared with the local runner. */
  readonly definitions: readonly TableDefinition[];
  /** Prefix of physical table names. */
  readonly namePrefix: string;
  /**
   * What happens to the tables when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class DataTables extends Construct {
  readonly tables = new Map<string, TableV2>();

  constructor(scope: Construct, id: string, props: DataTablesProps) {
    super(scope, id);
    for (const definition of props.definitions) {
      const key = (name: string) => ({ name, type: AttributeType.STRING });
      const table = new TableV2(this, definition.logicalName, {
        tableName: `${props.namePrefix}-${definition.logicalName}`,
        partitionKey: key(definition.partitionKey),
        ...(definition.sortKey ? { sortKey: key(definition.sortKey) } : {}),
        billing: Billing.onDemand(),
        encryption: TableEncryptionV2.awsManagedKey(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.removalPolicy !== RemovalPolicy.DESTROY,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
        ...(definition.stream === 'new-image' ? { dynamoStream: StreamViewType.NEW_IMAGE } : {}),
        globalSecondaryIndexes: definition.indexes.map((index) => ({
          indexName: index.name,
          partitionKey: key(index.partitionKey),
          ...(index.sortKey ? { sortKey: key(index.sortKey) } : {}),
        })),
      });
      this.tables.set(definition.logicalName, table);
    }
  }

  table(logicalName: string): TableV2 {
    const table = this.tables.get(logicalName);
    if (!table) throw new Error(`no table "${logicalName}"`);
    return table;
  }
}
