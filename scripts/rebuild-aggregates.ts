/**
 * `npm run rebuild-aggregates -- --day 2026-11-20`: rebuilds one UTC day's aggregates from its usage
 * records, after a batch of the aggregation consumer went to the dead-letter queue (or after a bug):
 * the day's cells are deleted and written again, and the month's budget totals are corrected by
 * addition. Safe to run twice. See README "Rebuilding a day's aggregates".
 *
 * Reads the same variables as the stack's functions (USAGE_TABLE, USAGE_AGGREGATES_TABLE, the BUDGET_*
 * that say which totals exist, AWS_REGION; DYNAMODB_ENDPOINT for a local engine) with the AWS
 * credentials of your shell. Refuses a day the stream may still deliver (today or yesterday, UTC)
 * unless --force: its cells carry no stream markers after the rebuild.
 */
import { parseArgs } from 'node:util';
import { DynamoDbUsageStore } from '../lambdas/adapters/dynamodb/dynamodb-usage-store';
import { trackedTotals } from '../lambdas/core/metering/alerts';
import { rebuildDay } from '../lambdas/core/metering/aggregation';
import { shiftDay, utcDay } from '../lambdas/core/utc-day';
import { loadConfig } from '../lambdas/shared/config';
import { dynamoClients } from '../lambdas/shared/runtime-adapters';
import { systemRandom } from '../lambdas/shared/system';
import { answerHelp } from './help';

answerHelp(__filename);

async function main() {
  const { values } = parseArgs({ options: { day: { type: 'string' }, force: { type: 'boolean', default: false } } });
  const day = values.day ?? '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`)))
    throw new Error('--day YYYY-MM-DD is required: the UTC day to rebuild');
  if (day >= shiftDay(utcDay(Date.now()), -1) && !values.force)
    throw new Error(`${day} is within the stream's 24-hour retention: wait a day, or pass --force after stopping its replay`);
  const config = loadConfig(process.env['DYNAMODB_ENDPOINT'] ? 'local' : 'aws');
  const clients = dynamoClients(config);
  const store = new DynamoDbUsageStore(
    clients.doc,
    { records: config.usage.recordsTable, aggregates: config.usage.aggregatesTable },
    { shards: config.usage.aggregateShards, random: systemRandom },
  );
  // Records expire after the usage retention, cells much later: a day past it would be rebuilt from nothing.
  const oldest = shiftDay(utcDay(Date.now()), -Math.floor(config.usage.retentionSeconds / 86_400) + 1);
  if (day < oldest && !values.force)
    throw new Error(`${day} is older than the usage records' retention (oldest day kept whole: ${oldest})`);
  const records = await store.recordsOfDay(day);
  if (records.length === 0 && (await store.aggregates(day, day)).length > 0 && !values.force)
    throw new Error(`${day} has aggregates but no usage records: nothing to rebuild them from (--force clears them)`);
  const result = await rebuildDay(day, records, store, trackedTotals(config.alerts.budgets));
  process.stdout.write(`${day}: ${result.records} records, ${result.deleted} cell items deleted, ${result.cells} cells written\n`);
  clients.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(`rebuild-aggregates: ${(error as Error).message}\n`);
  process.exit(1);
});
