/**
 * Token settlements on the quota counters (dynalite): the consumer's limiter is not the one that
 * admits, so what it remembers of an item lags; versions only move forward; an admin reset empties the
 * counters without applying earlier settlements again.
 */
import { DynamoDbCounterStore } from '../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { parsePolicies } from '../../lambdas/core/rate-limit/policies';
import { RateLimiter } from '../../lambdas/core/rate-limit/rate-limiter';
import { windowIndex } from '../../lambdas/core/rate-limit/windows';
import { FakeClock, ScriptedRandom } from '../helpers/fakes';
import { startTestDynamo, type TestDynamo } from '../helpers/dynamo';

const RESERVED = 1000;
let dynamo: TestDynamo;
const clock = new FakeClock(Date.UTC(2026, 10, 29, 12));
let users = 0;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

/** Two limiters on one table, as on AWS: the gateway's admits, the aggregation Lambda's settles. */
function limiters(): { gateway: RateLimiter; consumer: RateLimiter; userId: string } {
  const make = () =>
    new RateLimiter(
      new DynamoDbCounterStore(dynamo.doc, dynamo.table('rate-limits')),
      clock,
      parsePolicies({ quotas: { free: { day: 1_000_000, month: 10_000_000 } } }),
      new ScriptedRandom(),
    );
  users += 1;
  return { gateway: make(), consumer: make(), userId: `settle-user-${users}` };
}

async function admit(limiter: RateLimiter, userId: string): Promise<void> {
  const decision = await limiter.admit({ userId, plan: 'free', policy: 'ai_requests', reserveTokens: RESERVED });
  expect(decision.allowed).toBe(true);
}

const quotaDay = () => windowIndex('day', clock.now());
const quotaMonth = () => windowIndex('month', clock.now());

async function used(limiter: RateLimiter, userId: string): Promise<{ day: number; month: number }> {
  const { tokens } = (await limiter.status(userId, 'free')).quota;
  return { day: tokens.day.used, month: tokens.month.used };
}

test('settles into a new day and a new month though the consumer last saw the item in the old ones', async () => {
  const { gateway, consumer, userId } = limiters();
  clock.current = Date.UTC(2026, 10, 29, 12); // 29 November
  await admit(gateway, userId);
  await admit(gateway, userId);
  await consumer.settle(userId, { day: quotaDay(), month: quotaMonth(), version: 2, total: -300 });
  expect(await used(gateway, userId)).toEqual({ day: 1700, month: 1700 });

  clock.current = Date.UTC(2026, 10, 30, 12); // the next day, same month: only the gateway has seen it
  await admit(gateway, userId);
  await consumer.settle(userId, { day: quotaDay(), month: quotaMonth(), version: 1, total: -200 });
  expect(await used(gateway, userId)).toEqual({ day: 800, month: 2500 });

  clock.current = Date.UTC(2026, 11, 1, 12); // 1 December: day and month roll over together
  await admit(gateway, userId);
  await consumer.settle(userId, { day: quotaDay(), month: quotaMonth(), version: 1, total: -100 });
  expect(await used(gateway, userId)).toEqual({ day: 900, month: 900 });
});

test('a settlement read before a newer one changes nothing, even when the newer one changed nothing', async () => {
  const { gateway, consumer, userId } = limiters();
  clock.current = Date.UTC(2026, 10, 29, 12);
  await admit(gateway, userId);
  await consumer.settle(userId, { day: quotaDay(), month: quotaMonth(), version: 1, total: 50 });
  // Version 3 nets to the same total (+100 and -100 since version 1); version 2, read earlier, arrives last.
  await consumer.settle(userId, { day: quotaDay(), month: quotaMonth(), version: 3, total: 50 });
  await consumer.settle(userId, { day: quotaDay(), month: quotaMonth(), version: 2, total: 150 });
  expect(await used(gateway, userId)).toEqual({ day: RESERVED + 50, month: RESERVED + 50 });
});

test('an admin reset empties the counters and keeps what was settled, so it is not applied again', async () => {
  const { gateway, consumer, userId } = limiters();
  clock.current = Date.UTC(2026, 10, 29, 12);
  await admit(gateway, userId);
  await admit(gateway, userId);
  await consumer.settle(userId, { day: quotaDay(), month: quotaMonth(), version: 2, total: -300 });
  await gateway.reset(userId);
  expect(await used(gateway, userId)).toEqual({ day: 0, month: 0 });
  await admit(gateway, userId);
  // One more record settled (-100): only that change reaches the emptied counters.
  await consumer.settle(userId, { day: quotaDay(), month: quotaMonth(), version: 3, total: -400 });
  expect(await used(gateway, userId)).toEqual({ day: RESERVED - 100, month: RESERVED - 100 });
  expect((await gateway.status(userId, 'free')).limits.ai_requests.minute.used).toBe(1);
});

test('a settlement for a user whose counters are gone creates no item', async () => {
  const { consumer } = limiters();
  clock.current = Date.UTC(2026, 10, 29, 12);
  await consumer.settle('never-admitted', { day: quotaDay(), month: quotaMonth(), version: 1, total: -300 });
  const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
  const item = await dynamo.doc.send(
    new GetCommand({ TableName: dynamo.table('rate-limits'), Key: { pk: RateLimiter.key('ai_requests', 'never-admitted') } }),
  );
  expect(item.Item).toBeUndefined();
});
