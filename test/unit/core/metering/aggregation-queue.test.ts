/**
 * The in-process consumer's batching (`AggregationQueue`): records wait `batchMs` from a batch's first
 * record, or go at once when `maxBatch` are waiting; a timer set for a batch that already went full
 * leaves the next batch alone (it used to flush it early, a few records at a time).
 */
import { AggregationQueue } from '../../../../lambdas/core/metering/aggregation';
import type { UsageRecord } from '../../../../lambdas/core/metering/usage-record';
import { CapturingTelemetry, settleMicrotasks } from '../../../helpers/fakes';

/** Sleeps that end only when the test says so, in the order they were asked for. */
class ManualTimers {
  readonly waiting: Array<{ ms: number; end: () => void }> = [];
  sleep = (ms: number) => new Promise<void>((resolve) => this.waiting.push({ ms, end: resolve }));
  async end(index: number): Promise<void> {
    this.waiting[index]!.end();
    await settleMicrotasks();
  }
}

function queue(options = { batchMs: 500, maxBatch: 4 }) {
  const timers = new ManualTimers();
  const batches: string[][] = [];
  const work: Array<Promise<unknown>> = [];
  const q = new AggregationQueue(
    {
      apply: async (batch) => {
        batches.push(batch.map((b) => b.record.requestId));
        return { cells: 0 };
      },
    },
    timers.sleep,
    (w) => void work.push(w),
    new CapturingTelemetry(),
    options,
  );
  const add = (...ids: string[]) => ids.forEach((requestId) => q.add({ requestId } as UsageRecord));
  return { q, timers, batches, add };
}

it('applies the records of a batch together once its first record has waited batchMs', async () => {
  const { timers, batches, add } = queue();
  add('a', 'b', 'c');
  await settleMicrotasks();
  expect(batches).toEqual([]);
  expect(timers.waiting.map((t) => t.ms)).toEqual([500]);
  await timers.end(0);
  expect(batches).toEqual([['a', 'b', 'c']]);
});

it('applies a full batch at once, and the records after it wait their own batchMs, not the earlier timer', async () => {
  const { timers, batches, add } = queue();
  add('a', 'b', 'c', 'd');
  await settleMicrotasks();
  expect(batches).toEqual([['a', 'b', 'c', 'd']]);
  add('e', 'f');
  expect(timers.waiting).toHaveLength(2);
  // The first batch's timer ends: its batch is gone, and the next one is not due yet.
  await timers.end(0);
  expect(batches).toEqual([['a', 'b', 'c', 'd']]);
  add('g');
  await timers.end(1);
  expect(batches).toEqual([
    ['a', 'b', 'c', 'd'],
    ['e', 'f', 'g'],
  ]);
});

it('applies what is waiting when flushed, and the records after it wait for their own timer', async () => {
  const { q, timers, batches, add } = queue();
  add('a');
  await q.flush();
  expect(batches).toEqual([['a']]);
  add('b');
  await timers.end(0);
  expect(batches).toEqual([['a']]);
  await timers.end(1);
  expect(batches).toEqual([['a'], ['b']]);
});
