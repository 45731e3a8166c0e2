/**
 * Issues an API key straight into the api-keys table, with the caller's AWS credentials: the way to
 * create the first admin key after `npx cdk deploy` (later keys can use POST /admin/api-keys).
 *
 *   npm run create-key -- --table hybrid-orchestrator-dev-api-keys --user ops --role admin [--plan enterprise]
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseArgs } from 'node:util';
import { DynamoDbApiKeyStore } from '../lambdas/adapters/dynamodb/dynamodb-api-key-store';
import { ApiKeyService, CreateApiKeySchema, describeKey } from '../lambdas/core/access/api-keys';
import { systemClock, systemRandom } from '../lambdas/shared/system';
import { answerHelp } from './help';

answerHelp(__filename);

async function main() {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const { values } = parseArgs({
    options: {
      table: { type: 'string', default: process.env['API_KEYS_TABLE'] },
      user: { type: 'string' },
      plan: { type: 'string', default: 'free' },
      role: { type: 'string', default: 'user' },
      'expires-in-days': { type: 'string' },
      endpoint: { type: 'string', default: process.env['DYNAMODB_ENDPOINT'] },
    },
  });
  if (!values.table) throw new Error('--table (or API_KEYS_TABLE) is required: see the ApiKeysTable stack output');
  const days = values['expires-in-days'];
  const input = CreateApiKeySchema.parse({
    userId: values.user,
    plan: values.plan,
    role: values.role,
    ...(days ? { expiresInDays: Number(days) } : {}),
  });
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(values.endpoint ? { endpoint: values.endpoint } : {}));
  const service = new ApiKeyService(new DynamoDbApiKeyStore(client, values.table), systemClock, systemRandom, {
    cacheTtlMs: 0,
    negativeCacheTtlMs: 0,
    maxCacheEntries: 1,
  });
  const { record, key } = await service.create(input);
  process.stdout.write(`${JSON.stringify({ ...describeKey(record), key }, null, 2)}\n`);
  process.stderr.write('The key is shown only this once; store it in your secret manager.\n');
  client.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(`create-key: ${(error as Error).message}\n`);
  process.exit(1);
});
