/**
 * The local spill file (`FileUsageOutbox`) and the replay of what waited in it (`UsageLedger.replayAll`):
 * a record is never lost, whether the gateway stops part-way through the replay (the rest go back to
 * the file) or is killed (the file taken aside is read again by the next start), and each is written
 * once when the store answers again.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileUsageOutbox } from '../../../lambdas/adapters/outbox/file-usage-outbox';
import { attemptBoundedConfig } from '../../../lambdas/adapters/aws/bounded-clients';
import { DynamoDbUsageStore } from '../../../lambdas/adapters/dynamodb/dynamodb-usage-store';
import { parsePriceTable } from '../../../lambdas/core/metering/pricing';
import { UsageLedger } from '../../../lambdas/core/metering/usage-ledger';
import { buildUsageRecord, type UsageRecord } from '../../../lambdas/core/metering/usage-record';
import defaultPrices from '../../../config/prices.json';
import { startTestDynamo, type TestDynamo } from '../../helpers/dynamo';
import { CapturingTelemetry, FakeClock } from '../../helpers/fakes';

const NOW = Date.parse('2026-11-23T10:30:00.000Z');
const prices = parsePriceTable(defaultPrices, 'config/prices.json');
const record = (requestId: string): UsageRecord =>
  buildUsageRecord(
    { requestId, method: 'POST', path: '/v1/chat/completions', status: 200, latencyMs: 5, userId: 'u1', keyId: 'k1' },
    NOW,
    prices,
  );

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ho-outbox-'));
  file = join(dir, 'usage-spill.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ids = (records: UsageRecord[]) => records.map((r) => r.requestId).sort();
const spilledIds = () =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as UsageRecord).requestId)
    .sort();
const aside = () => readdirSync(dir).filter((name) => name.endsWith('.replaying'));

describe('the spill file', () => {
  it('keeps the records it gave out in a file aside until they are done with, and takes nothing twice', async () => {
    const outbox = new FileUsageOutbox(file);
    await outbox.spill([record('a'), record('b')]);
    const taken = await outbox.take();
    expect(ids(taken.records)).toEqual(['a', 'b']);
    expect(aside()).toHaveLength(1);
    // Spilled while the replay runs: a new file, not taken by this replay.
    await outbox.spill([record('c')]);
    expect((await outbox.take()).records.map((r) => r.requestId)).toEqual(['c']);
    await taken.done();
    expect(aside()).toHaveLength(1);
  });

  it('takes the file aside of a process that stopped before it was done, and not one a running process holds', async () => {
    const line = (id: string) => `${JSON.stringify(record(id))}\n`;
    const alive = (pid: number) => pid === 4242;
    writeFileSync(`${file}.999999.1700000000000-1.replaying`, line('killed-1') + line('killed-2'));
    writeFileSync(`${file}.4242.1700000000000-1.replaying`, line('running'));
    // This pid in an earlier life (a container's pid repeats), not taken by this process.
    writeFileSync(`${file}.${process.pid}.1700000000000-1.replaying`, line('earlier-life'));
    // Spilled back by a stop and left aside by a crash too: replayed once.
    writeFileSync(file, line('killed-2') + line('new'));
    const taken = await new FileUsageOutbox(file, alive).take();
    expect(ids(taken.records)).toEqual(['earlier-life', 'killed-1', 'killed-2', 'new']);
    await taken.done();
    expect(aside()).toEqual(['usage-spill.jsonl.4242.1700000000000-1.replaying']);
  });
});

describe('replaying the spill file', () => {
  /** A DynamoDB that accepts connections and never answers. */
  let hung: Server;
  let hungEndpoint: string;
  const sockets = new Set<Socket>();
  let dynamo: TestDynamo;
  beforeAll(async () => {
    hung = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    hungEndpoint = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
    dynamo = await startTestDynamo();
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hung.close(resolve));
    await dynamo.close();
  });

  function ledgerOn(endpoint: string, outbox: FileUsageOutbox) {
    const client = new DynamoDBClient({
      ...attemptBoundedConfig('us-east-1', 400),
      endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const store = new DynamoDbUsageStore(DynamoDBDocumentClient.from(client), {
      records: dynamo.table('usage'),
      aggregates: dynamo.table('usage-aggregates'),
    });
    const fed: UsageRecord[] = [];
    const ledger = new UsageLedger(
      store,
      prices,
      new FakeClock(NOW),
      new CapturingTelemetry(),
      86_400,
      { add: (r) => fed.push(r) },
      outbox,
      {
        attempts: 2,
        baseDelayMs: 1,
      },
    );
    return { ledger, fed, client };
  }

  it('spills back every record not yet written when the gateway stops part-way, and writes each once later', async () => {
    const outbox = new FileUsageOutbox(file);
    await outbox.spill(['r1', 'r2', 'r3'].map(record));

    // The store hangs: the gateway stops while the first record is being written.
    const stopping = ledgerOn(hungEndpoint, outbox);
    const taken = await outbox.take();
    const replay = stopping.ledger.replayAll(taken.records);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await stopping.ledger.spillInFlight()).toBe(3);
    expect(await replay).toEqual({ replayed: 0, waiting: 3 });
    await taken.done();
    stopping.client.destroy();
    // Each went back once: the replay stopped where the stop spilled the rest.
    expect(spilledIds()).toEqual(['r1', 'r2', 'r3']);
    expect(aside()).toEqual([]);

    // The store answers: the next start writes the three, and counts each once.
    const next = ledgerOn(dynamo.endpoint, outbox);
    const again = await outbox.take();
    expect(await next.ledger.replayAll(again.records)).toEqual({ replayed: 3, waiting: 0 });
    await again.done();
    next.client.destroy();
    expect(ids(next.fed)).toEqual(['r1', 'r2', 'r3']);
    const stored = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.table('usage') }));
    expect(ids((stored.Items ?? []) as UsageRecord[])).toEqual(['r1', 'r2', 'r3']);
    expect(() => readFileSync(file)).toThrow();
  });

  it('writes every record of a replay that holds one twice (a second copy does not end it)', async () => {
    const outbox = new FileUsageOutbox(file);
    const ledger = ledgerOn(dynamo.endpoint, outbox);
    expect(await ledger.ledger.replayAll(['d1', 'd2', 'd1', 'd3'].map(record))).toEqual({ replayed: 4, waiting: 0 });
    ledger.client.destroy();
    expect(ids(ledger.fed)).toEqual(['d1', 'd2', 'd3']);
  });

  it('spills back the records the store refused when the replay ends', async () => {
    const outbox = new FileUsageOutbox(file);
    await outbox.spill(['x1', 'x2'].map(record));
    const refusing = ledgerOn('http://127.0.0.1:1', outbox);
    const taken = await outbox.take();
    expect(await refusing.ledger.replayAll(taken.records)).toEqual({ replayed: 0, waiting: 2 });
    await taken.done();
    refusing.client.destroy();
    expect(spilledIds()).toEqual(['x1', 'x2']);
    expect(aside()).toEqual([]);
  });
});
