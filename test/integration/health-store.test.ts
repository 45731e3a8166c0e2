/** The DynamoDB health store on dynalite: conditional breaker transitions and slot counters. */
import { DynamoDbHealthStore } from '../../lambdas/adapters/dynamodb/dynamodb-health-store';
import type { OutcomeDelta, TargetState } from '../../lambdas/core/health/ports';
import { startTestDynamo, type TestDynamo } from '../helpers/dynamo';

let dynamo: TestDynamo;
let store: DynamoDbHealthStore;
beforeAll(async () => {
  dynamo = await startTestDynamo();
  store = new DynamoDbHealthStore(dynamo.doc, dynamo.table('provider-health'));
});
afterAll(() => dynamo.close());

const delta = (changes: Partial<OutcomeDelta> = {}): OutcomeDelta => ({
  successes: 0,
  failures: 0,
  trailingFailures: 0,
  hadSuccess: false,
  tokens: 0,
  latency: {},
  firstEvent: {},
  ...changes,
});

const state = (v: number, changes: Partial<TargetState> = {}): TargetState => ({
  v,
  state: 'closed',
  openUntil: 0,
  openings: 0,
  changedAt: 1,
  reason: 'test',
  ...changes,
});

describe('DynamoDbHealthStore', () => {
  it('writes a breaker state only over the version it read: one winner among concurrent writers', async () => {
    const key = 'openai/gpt-4o-mini';
    expect(await store.transition(key, 0, state(1))).toBe(true);
    expect(await store.transition(key, 0, state(1, { reason: 'another writer' }))).toBe(false);
    // The same write again is what the SDK sends when the first one's answer was lost: it was made.
    expect(await store.transition(key, 0, state(1))).toBe(true);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.transition(key, 1, state(2, { reason: `writer ${i}` }))));
    expect(results.filter(Boolean)).toHaveLength(1);
    const states = await store.states();
    expect(states[key]).toMatchObject({ v: 2, state: 'closed' });
    expect(await store.transition('azure-openai/gpt-4o', 0, state(1, { state: 'open', openUntil: 99 }))).toBe(true);
    expect(Object.keys(await store.states()).sort()).toEqual(['azure-openai/gpt-4o', 'openai/gpt-4o-mini']);
  });

  it('adds batches to the current slot, restarts a slot whose turn came round, and keeps failures in a row', async () => {
    const key = 'openai/gpt-4.1';
    let stats = await store.record(
      key,
      delta({ successes: 2, hadSuccess: true, tokens: 30, latency: { 20: 2 }, firstEvent: { 10: 2 } }),
      100,
      13,
      500_000,
    );
    stats = await store.record(key, delta({ failures: 3, trailingFailures: 3, latency: {}, firstEvent: {} }), 100, 13, 500_100);
    expect(stats.slots).toEqual([{ slot: 100, successes: 2, failures: 3, tokens: 30, latency: { '20': 2 }, firstEvent: { '10': 2 } }]);
    expect(stats.consecutiveFailures).toBe(3);
    stats = await store.record(key, delta({ successes: 1, hadSuccess: true, latency: { 20: 1, 21: 1 } }), 101, 13, 505_000);
    expect(stats.consecutiveFailures).toBe(0);
    expect(stats.slots.find((s) => s.slot === 101)).toMatchObject({ successes: 1, latency: { '20': 1, '21': 1 } });
    // Slot 113 has the same place in a 13-slot ring as slot 100: it starts again from this batch.
    stats = await store.record(key, delta({ failures: 1, trailingFailures: 1 }), 113, 13, 565_000);
    expect(stats.slots.map((s) => s.slot)).toEqual([101, 113]);
    expect(stats.slots.find((s) => s.slot === 113)).toMatchObject({ successes: 0, failures: 1, latency: {} });
    expect(stats.lastAt).toBe(565_000);
    expect((await store.stats([key, 'nobody/none']))['nobody/none']).toEqual({ slots: [], consecutiveFailures: 0, lastAt: 0 });
  });

  it('counts every failure of concurrent writers', async () => {
    const key = 'openai/o4-mini';
    await Promise.all(Array.from({ length: 20 }, () => store.record(key, delta({ failures: 1, trailingFailures: 1 }), 200, 13, 1_000_000)));
    const stats = (await store.stats([key]))[key]!;
    expect(stats.slots).toEqual([expect.objectContaining({ slot: 200, failures: 20 })]);
    expect(stats.consecutiveFailures).toBe(20);
  });
});
