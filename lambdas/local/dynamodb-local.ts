/**
 * The local DynamoDB engine: dynalite in-process (in memory, or on disk under DATA_DIR), with the
 * gateway's tables created from the same definitions the CDK stack uses.
 */
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { LOCAL_DEADLINE_HEADER } from '../adapters/aws/bounded-clients';
import type { AddressInfo } from 'node:net';
import type { TableDefinition } from '../shared/tables';
import { drain } from './drain';

export interface LocalDynamo {
  endpoint: string;
  /** The engine's own process, when it runs in one. */
  pid?: number | undefined;
  close(): Promise<void>;
}

/**
 * A request that reaches the engine after its caller's deadline (`x-local-deadline`, set by the
 * gateway's DynamoDB client) has already been answered 503: it is dropped, never carried out. This
 * is what keeps a stalled engine (a paused process) from completing writes minutes later.
 */
function dropLateRequests(server: Server): void {
  const handlers = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const deadline = Number(req.headers[LOCAL_DEADLINE_HEADER]);
    if (Number.isFinite(deadline) && deadline > 0 && Date.now() > deadline) {
      req.resume();
      res.writeHead(408, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({ __type: 'com.amazon.coral.service#RequestTimeoutException', message: 'The caller gave up on this request.' }),
      );
      return;
    }
    for (const handler of handlers) handler.call(server, req, res);
  });
}

/** Starts dynalite on 127.0.0.1 (random port unless given). */
export async function startDynalite(options: { path?: string; port?: number } = {}): Promise<LocalDynamo> {
  const server: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  dropLateRequests(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // Lets requests in flight finish first: dynalite throws (and takes the process down) when a
    // request is still writing after its database closed.
    close: () => drain(server, 2000, 20),
  };
}

/** The CreateTable request for a table definition (on-demand billing, all indexes projecting everything). */
export function createTableInput(definition: TableDefinition, tableName: string): CreateTableCommandInput {
  const keyAttributes = new Set<string>([definition.partitionKey, ...(definition.sortKey ? [definition.sortKey] : [])]);
  for (const index of definition.indexes) {
    keyAttributes.add(index.partitionKey);
    if (index.sortKey) keyAttributes.add(index.sortKey);
  }
  const keySchema = (pk: string, sk?: string) => [
    { AttributeName: pk, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...keyAttributes].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    ...(definition.indexes.length > 0
      ? {
          GlobalSecondaryIndexes: definition.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }
      : {}),
  };
}

/**
 * Creates each table unless it exists (idempotent across restarts with DATA_DIR). A table kept under
 * DATA_DIR by an older version, whose indexes differ from its definition, is rebuilt with its items
 * (dynalite cannot add or drop an index in place), and its `afterRebuild` step runs (e.g. a backfill
 * of the new index's key). Returns the names of the tables rebuilt.
 */
export async function ensureTables(
  client: DynamoDBClient,
  tables: Array<{ definition: TableDefinition; name: string; afterRebuild?: () => Promise<void> }>,
  /** Where a table's items are written before it is rebuilt (so a stop in the middle loses nothing). */
  backupDir?: string,
): Promise<string[]> {
  const rebuilt: string[] = [];
  for (const { definition, name, afterRebuild } of tables) {
    try {
      await createTable(client, definition, name);
      continue;
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    // Another process may have just created it: used once ACTIVE.
    await untilActive(client, name);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const has = (Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName).sort();
    const wants = definition.indexes.map((index) => index.name).sort();
    if (has.join() === wants.join()) continue;
    await rebuildTable(client, definition, name, backupDir);
    await afterRebuild?.();
    rebuilt.push(name);
  }
  return rebuilt;
}

/**
 * Creates a table and resolves once it is ACTIVE. Even with `createTableMs: 0` dynalite makes a table
 * active on a timer: under load a write sent right after the create can find it still CREATING (and
 * be refused as if the table did not exist).
 */
export async function createTable(client: DynamoDBClient, definition: TableDefinition, name: string): Promise<void> {
  await client.send(new CreateTableCommand(createTableInput(definition, name)));
  await untilActive(client, name);
}

async function untilActive(client: DynamoDBClient, name: string): Promise<void> {
  await until(name, async () => (await client.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus === 'ACTIVE');
}

/** Polls `done` every 10 ms, for at most 30 s. */
async function until(name: string, done: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await done()); waited += 10) {
    if (waited >= 30_000) throw new Error(`table ${name} did not settle within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Copies a table's items out, recreates it from its definition, and writes them back. With
 * `backupDir`, the items are first written to `<backupDir>/<table>.rebuild-backup.json` (and the
 * file removed once the table is whole again): restore from it if the process stopped in between.
 */
async function rebuildTable(client: DynamoDBClient, definition: TableDefinition, name: string, backupDir?: string): Promise<void> {
  const items: Array<Record<string, AttributeValue>> = [];
  let cursor: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: name, ...(cursor ? { ExclusiveStartKey: cursor } : {}) }));
    items.push(...(page.Items ?? []));
    cursor = page.LastEvaluatedKey;
  } while (cursor);
  const backup = backupDir ? join(backupDir, `${name}.rebuild-backup.json`) : undefined;
  if (backup) writeFileSync(backup, JSON.stringify(items));
  await client.send(new DeleteTableCommand({ TableName: name }));
  // dynalite removes a table on a timer too: until then a create of the same name is refused.
  await until(name, async () => {
    try {
      await client.send(new DescribeTableCommand({ TableName: name }));
      return false;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return true;
      throw error;
    }
  });
  await createTable(client, definition, name);
  for (let i = 0; i < items.length; i += 25) {
    let pending: Record<string, WriteRequest[]> | undefined = {
      [name]: items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: item } })),
    };
    while (pending && Object.keys(pending).length > 0) {
      pending = (await client.send(new BatchWriteItemCommand({ RequestItems: pending }))).UnprocessedItems;
    }
  }
  if (backup) rmSync(backup, { force: true });
}
