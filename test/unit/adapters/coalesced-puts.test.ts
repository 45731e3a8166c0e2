/**
 * New usage records coalesced into `BatchWriteItem` calls (`CoalescedPuts`), on dynalite: a lone put
 * goes at once and alone, puts gather while a partial batch is on its way, 25 go whatever is on its
 * way, and a failed call or an unprocessed item fails only its own puts. Then the ledger around it: a
 * new record's first write goes in a batch; one left unprocessed, or that landed unheard, is still
 * counted exactly once; one that cannot be written is spilled.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CoalescedPuts, UnprocessedPutError } from '../../../lambdas/adapters/dynamodb/coalesced-puts';
import { DynamoDbUsageStore } from '../../../lambdas/adapters/dynamodb/dynamodb-usage-store';
import { CachedWrites, type ItemWrites } from '../../../lambdas/adapters/dynamodb/item-writes';
import { parsePriceTable } from '../../../lambdas/core/metering/pricing';
import { UsageLedger } from '../../../lambdas/core/metering/usage-ledger';
import type { UsageRecord } from '../../../lambdas/core/metering/usage-record';
import type { RequestSummary } from '../../../lambdas/core/request-summary';
import defaultPrices from '../../../config/prices.json';
import { startTestDynamo, type TestDynamo } from '../../helpers/dynamo';
import { CapturingTelemetry, FakeClock } from '../../helpers/fakes';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

let dynamo: TestDynamo;
let cached: CachedWrites;
let table: string;
beforeAll(async () => {
  dynamo = await startTestDynamo();
  cached = new CachedWrites(
    new DynamoDBClient({
      region: 'us-east-1',
      endpoint: dynamo.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      cacheMiddleware: true,
    }),
  );
  table = dynamo.table('usage');
});
afterAll(async () => {
  cached.client.destroy();
  await dynamo.close();
});

/**
 * The real writes, with what DynamoDB does under stress: a call that waits at a gate, a call that
 * fails, items it leaves unprocessed (throttled: not written). Notes the size of every call.
 */
function stressed(inner: ItemWrites) {
  const calls: number[] = [];
  let release: (() => void) | undefined;
  const state = { gate: undefined as Promise<void> | undefined, fail: undefined as Error | undefined, leave: new Set<unknown>() };
  const writes: Pick<ItemWrites, 'batchPut'> = {
    batchPut: async (tableName, items) => {
      calls.push(items.length);
      const gate = state.gate;
      if (gate) await gate;
      if (state.fail) throw state.fail;
      const left = items.filter((item) => state.leave.has(item['requestId']));
      const sent = items.filter((item) => !state.leave.has(item['requestId']));
      return [...(sent.length > 0 ? await inner.batchPut(tableName, sent) : []), ...left];
    },
  };
  return {
    calls,
    writes,
    state,
    hold: () => {
      state.gate = new Promise<void>((resolve) => (release = resolve));
    },
    release: () => {
      state.gate = undefined;
      release?.();
    },
  };
}

const stored = async (requestId: string) => (await dynamo.doc.send(new GetCommand({ TableName: table, Key: { requestId } }))).Item;

/** CoalescedPuts over the stressed real writes. */
function coalesced() {
  const s = stressed(cached);
  return { s, puts: new CoalescedPuts(s.writes, table, 'requestId') };
}

/** CoalescedPuts with a partial batch of one put (`<prefix>-0`) on its way, held until `s.release()`. */
async function withPartialOnItsWay(prefix: string) {
  const { s, puts } = coalesced();
  s.hold();
  const first = puts.put({ requestId: `${prefix}-0` });
  await turn();
  return { s, puts, first };
}

describe('CoalescedPuts', () => {
  it('sends a lone put at once, alone, and the item is stored as given', async () => {
    const { s, puts } = coalesced();
    await puts.put({ requestId: 'lone-1', n: 1, nested: { a: [1, 'b'] } });
    expect(s.calls).toEqual([1]);
    expect(await stored('lone-1')).toEqual({ requestId: 'lone-1', n: 1, nested: { a: [1, 'b'] } });
  });

  it('sends the puts of one event-loop turn in one call', async () => {
    const { s, puts } = coalesced();
    await Promise.all(Array.from({ length: 10 }, (_, i) => puts.put({ requestId: `turn-${i}`, i })));
    expect(s.calls).toEqual([10]);
    for (let i = 0; i < 10; i++) expect(await stored(`turn-${i}`)).toEqual({ requestId: `turn-${i}`, i });
  });

  it('gathers the puts that arrive while a partial batch is on its way, and sends them together when it returns', async () => {
    const { s, puts, first } = await withPartialOnItsWay('gather');
    const later: Array<Promise<void>> = [];
    for (let i = 1; i <= 7; i++) {
      later.push(puts.put({ requestId: `gather-${i}` }));
      await turn();
    }
    expect(s.calls).toEqual([1]);
    expect(puts.gathered).toBe(7);
    s.release();
    await Promise.all([first, ...later]);
    expect(s.calls).toEqual([1, 7]);
    expect(puts.gathered).toBe(0);
  });

  it('sends 25 gathered puts at once, whatever is on its way, and the rest when the partial batch returns', async () => {
    const { s, puts, first } = await withPartialOnItsWay('full');
    const many = Array.from({ length: 30 }, (_, i) => puts.put({ requestId: `full-${i + 1}` }));
    expect(s.calls).toEqual([1, 25]);
    s.release();
    await Promise.all([first, ...many]);
    expect(s.calls).toEqual([1, 25, 5]);
    expect(await stored('full-30')).toEqual({ requestId: 'full-30' });
  });

  it('fails each put of a failed call with its error, and sends the next puts as usual', async () => {
    const { s, puts } = coalesced();
    s.state.fail = new Error('ECONNRESET');
    const failed = await Promise.allSettled([puts.put({ requestId: 'fail-0' }), puts.put({ requestId: 'fail-1' })]);
    expect(failed.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))).toEqual(['ECONNRESET', 'ECONNRESET']);
    s.state.fail = undefined;
    await puts.put({ requestId: 'fail-2' });
    expect(s.calls).toEqual([2, 1]);
    expect(await stored('fail-0')).toBeUndefined();
    expect(await stored('fail-2')).toBeDefined();
  });

  it('fails only the items DynamoDB left unprocessed, with UnprocessedPutError', async () => {
    const { s, puts } = coalesced();
    s.state.leave = new Set(['unprocessed-1', 'unprocessed-3']);
    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => puts.put({ requestId: `unprocessed-${i}` })));
    expect(results.map((r) => (r.status === 'rejected' ? r.reason : 'ok'))).toEqual([
      'ok',
      expect.any(UnprocessedPutError),
      'ok',
      expect.any(UnprocessedPutError),
    ]);
    expect(await stored('unprocessed-0')).toBeDefined();
    expect(await stored('unprocessed-1')).toBeUndefined();
  });
});

describe('the ledger’s first write of a new record', () => {
  const clock = new FakeClock(Date.parse('2026-11-23T10:30:00.000Z'));
  const prices = parsePriceTable(defaultPrices, 'config/prices.json');
  const summary = (requestId: string): RequestSummary => ({
    requestId,
    method: 'POST',
    path: '/v1/chat/completions',
    status: 200,
    latencyMs: 5,
    userId: 'u1',
    keyId: 'k1',
  });

  /** The ledger on the DynamoDB store, whose record writes go through `batchPut` (for batches) and the real writes. */
  function ledgerOver(batchPut: ItemWrites['batchPut'], storeDown = false) {
    const writes: ItemWrites = {
      update: (input) => cached.update(input),
      put: (input) => (storeDown ? Promise.reject(new Error('ECONNREFUSED')) : cached.put(input)),
      batchPut,
    };
    const store = new DynamoDbUsageStore(
      dynamo.doc,
      { records: table, aggregates: dynamo.table('usage-aggregates') },
      undefined,
      () => clock.now(),
      undefined,
      writes,
    );
    const fed: UsageRecord[] = [];
    const telemetry = new CapturingTelemetry();
    const outbox = { spilled: [] as UsageRecord[], spill: async (records: UsageRecord[]) => void outbox.spilled.push(...records) };
    const ledger = new UsageLedger(store, prices, clock, telemetry, 86_400, { add: (r) => fed.push(r) }, outbox, {
      attempts: 3,
      baseDelayMs: 1,
    });
    return { ledger, fed, outbox, telemetry };
  }

  it('goes in one batch with the records of the requests finishing at the same time', async () => {
    const s = stressed(cached);
    const { ledger, fed } = ledgerOver(s.writes.batchPut);
    await Promise.all([ledger.record(summary('ledger-a')), ledger.record(summary('ledger-b'))]);
    expect(s.calls).toEqual([2]);
    expect(fed.map((r) => r.requestId).sort()).toEqual(['ledger-a', 'ledger-b']);
    for (const id of ['ledger-a', 'ledger-b']) expect(await stored(id)).toMatchObject({ requestId: id, userId: 'u1', day: '2026-11-23' });
  });

  it('writes an item DynamoDB left unprocessed with a conditional put of its own, counted once', async () => {
    const s = stressed(cached);
    s.state.leave = new Set(['ledger-throttled']);
    const { ledger, fed, outbox } = ledgerOver(s.writes.batchPut);
    await Promise.all([ledger.record(summary('ledger-throttled')), ledger.record(summary('ledger-through'))]);
    expect(s.calls).toEqual([2]);
    expect(fed.map((r) => r.requestId).sort()).toEqual(['ledger-throttled', 'ledger-through']);
    expect(outbox.spilled).toEqual([]);
    expect(await stored('ledger-throttled')).toMatchObject({ requestId: 'ledger-throttled' });
  });

  it('spills a new record when its batch and every retry fail, and counts nothing', async () => {
    const { ledger, fed, outbox, telemetry } = ledgerOver(async () => {
      throw new Error('ECONNREFUSED');
    }, true);
    await ledger.record(summary('ledger-down'));
    expect(fed).toEqual([]);
    expect(outbox.spilled.map((r) => r.requestId)).toEqual(['ledger-down']);
    expect(telemetry.counts['UsageRecordsSpilled']).toBe(1);
    expect(await stored('ledger-down')).toBeUndefined();
  });

  it('is counted once when the batch landed but its answer was lost (the retry finds the record: its own)', async () => {
    const { ledger, fed, outbox } = ledgerOver(async (tableName, items) => {
      await cached.batchPut(tableName, items);
      throw new Error('socket hang up');
    });
    await ledger.record(summary('ledger-unheard'));
    expect(fed.map((r) => r.requestId)).toEqual(['ledger-unheard']);
    expect(outbox.spilled).toEqual([]);
    expect(await stored('ledger-unheard')).toMatchObject({ requestId: 'ledger-unheard', userId: 'u1' });
  });

  it('adds nothing when a replayed record is found (it may have been counted before it was spilled)', async () => {
    const { ledger, fed } = ledgerOver((tableName, items) => cached.batchPut(tableName, items));
    const record = await ledger.record(summary('ledger-replayed'));
    expect(fed).toHaveLength(1);
    await ledger.replay(record);
    expect(fed).toHaveLength(1);
  });
});
