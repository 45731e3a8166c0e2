/**
 * `npm run backfill-day-shards -- --table <usage table>`: gives every usage record written before the
 * day index was sharded its `dayShard`, so the daily report and the admin usage API find it through
 * `byDayShard`. Step 2 of the upgrade in the README ("Upgrading a stack from before the sharded day
 * index"). Safe to run twice or to interrupt: records that have a shard are skipped.
 *
 *   npm run backfill-day-shards -- --table hybrid-orchestrator-prod-usage [--region eu-west-1]
 *
 * Uses the AWS credentials of your shell (the SDK's default chain). Locally there is nothing to run:
 * `npm start` rebuilds and backfills a DATA_DIR table by itself.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseArgs } from 'node:util';
import { backfillDayShards } from '../lambdas/adapters/dynamodb/dynamodb-usage-store';
import { answerHelp } from './help';

answerHelp(__filename);

async function main() {
  const { values } = parseArgs({ options: { table: { type: 'string' }, region: { type: 'string' } } });
  if (!values.table) throw new Error('--table is required: the usage table, e.g. hybrid-orchestrator-prod-usage');
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(values.region ? { region: values.region } : {}));
  const updated = await backfillDayShards(client, values.table, {
    onProgress: (done) => process.stdout.write(`\r${done} records given their day shard`),
  });
  process.stdout.write(`\ndone: ${updated} records updated in ${values.table}\n`);
  client.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(`backfill-day-shards: ${(error as Error).message}\n`);
  process.exit(1);
});
