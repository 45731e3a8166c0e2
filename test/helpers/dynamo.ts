/** A dynalite server with the gateway's tables, and a document client on it. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTables, startDynalite, type LocalDynamo } from '../../lambdas/local/dynamodb-local';
import { TABLES } from '../../lambdas/shared/tables';

export interface TestDynamo extends LocalDynamo {
  doc: DynamoDBDocumentClient;
  /** Physical name of a table by logical name (`rate-limits` -> `test-rate-limits`). */
  table(logicalName: string): string;
}

export async function startTestDynamo(): Promise<TestDynamo> {
  const local = await startDynalite();
  const raw = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: local.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const table = (logicalName: string) => `test-${logicalName}`;
  await ensureTables(
    raw,
    TABLES.map((definition) => ({ definition, name: table(definition.logicalName) })),
  );
  const doc = DynamoDBDocumentClient.from(raw);
  return {
    ...local,
    doc,
    table,
    close: async () => {
      raw.destroy();
      await local.close();
    },
  };
}
