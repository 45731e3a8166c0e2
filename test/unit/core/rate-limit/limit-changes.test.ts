/**
 * A sliding limit that changes (a new deployment, a user changing plan) keeps counting what the old one
 * admitted: slots past a lowered limit, and the other form when the limit moves between a log and a
 * ring, count until they leave the window. On the real counter store against dynalite.
 */
import { DynamoDbCounterStore } from '../../../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { parsePolicies } from '../../../../lambdas/core/rate-limit/policies';
import { RateLimiter } from '../../../../lambdas/core/rate-limit/rate-limiter';
import { systemRandom } from '../../../../lambdas/shared/system';
import { FakeClock } from '../../../helpers/fakes';
import { startTestDynamo, type TestDynamo } from '../../../helpers/dynamo';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

const clock = new FakeClock(Date.parse('2026-11-22T12:00:30.000Z'));
let users = 0;

function limiter(minute: number): RateLimiter {
  const policies = parsePolicies({ onlyfans_messaging: { minute, hour: 1000, day: 1000 } });
  return new RateLimiter(new DynamoDbCounterStore(dynamo.doc, dynamo.table('rate-limits')), clock, policies, systemRandom);
}

async function admitted(l: RateLimiter, userId: string, n: number): Promise<number> {
  const decisions = await Promise.all(Array.from({ length: n }, () => l.admit({ userId, plan: 'pro', policy: 'onlyfans_messaging' })));
  return decisions.filter((d) => d.allowed).length;
}

// Retry-After: the old log's admissions leave 60 s after 12:00:30; the old ring's 5-second bucket
// counts in full until 12:01:35 (a ring is conservative by up to one bucket).
it.each([
  ['a lowered log limit (10 -> 5)', 10, 5, 0, 50],
  ['a log becoming a ring (40 -> 60)', 40, 60, 20, 50],
  ['a ring becoming a log (60 -> 50)', 60, 50, 0, 55],
  ['a raised log limit (5 -> 10)', 5, 10, 5, 50],
])('%s counts what the old limit admitted', async (_name, before, after, more, retry) => {
  const userId = `change-${users++}`;
  expect(await admitted(limiter(before), userId, before + 5)).toBe(before);
  clock.advance(10_000);
  const changed = limiter(after);
  expect(await admitted(changed, userId, 80)).toBe(more);
  const status = await changed.status(userId, 'pro');
  expect(status.limits.onlyfans_messaging.minute).toMatchObject({ limit: after, used: before + more });
  const refused = await changed.admit({ userId, plan: 'pro', policy: 'onlyfans_messaging' });
  expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: retry });
  // Once the old admissions have left, the new limit alone applies.
  clock.advance(retry * 1000);
  expect(await admitted(changed, userId, 80)).toBe(Math.min(after, after - more));
});
