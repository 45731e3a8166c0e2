/**
 * Which counter writes the SDK may send twice: an admission (sent again after an answer was lost, it
 * counts once more: the limit errs on the safe side) and a settlement (its version condition applies
 * it once), but not a refund, whose decrease applied twice would let one request past the limit: it
 * goes through the writes the SDK never retries. On the real counter store against dynalite.
 */
import { DynamoDbCounterStore } from '../../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { documentWrites, type ItemWrites } from '../../../lambdas/adapters/dynamodb/item-writes';
import { parsePolicies } from '../../../lambdas/core/rate-limit/policies';
import { RateLimiter } from '../../../lambdas/core/rate-limit/rate-limiter';
import { systemRandom } from '../../../lambdas/shared/system';
import { startTestDynamo, type TestDynamo } from '../../helpers/dynamo';
import { FakeClock } from '../../helpers/fakes';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());
let users = 0;

/** The real writes, noting under `name` each update sent through them. */
function noting(name: string, sent: string[]): ItemWrites {
  const inner = documentWrites(dynamo.doc);
  return { ...inner, update: (input) => (sent.push(name), inner.update(input)) };
}

it.each([
  ['a calendar window (ai_requests)', 'ai_requests' as const, { ai_requests: { minute: 5, hour: 100, day: 100 } }],
  ['a sliding log (onlyfans_messaging, minute)', 'onlyfans_messaging' as const, { onlyfans_messaging: { minute: 5, hour: 100, day: 100 } }],
  [
    'a sliding ring (onlyfans_messaging, hour)',
    'onlyfans_messaging' as const,
    { onlyfans_messaging: { minute: null, hour: 60, day: 1000 } },
  ],
])('%s: the admission may be retried, its refund is sent once', async (_name, policy, policies) => {
  const sent: string[] = [];
  const store = new DynamoDbCounterStore(dynamo.doc, dynamo.table('rate-limits'), noting('retried', sent), noting('once', sent));
  const limiter = new RateLimiter(store, new FakeClock(), parsePolicies(policies), systemRandom);
  const userId = `refunded-${users++}`;
  const decision = await limiter.admit({ userId, plan: 'pro', policy });
  if (!decision.allowed) throw new Error('refused');
  const admitted = sent.splice(0);
  expect(new Set(admitted)).toEqual(new Set(['retried']));
  await limiter.refund(decision.ticket);
  const refunded = sent.splice(0);
  // With the decreases of its other windows, a sliding log's release of its slot goes once too.
  expect(refunded).toEqual(['once']);
  expect((await limiter.status(userId, 'pro')).limits[policy].hour.used).toBe(0);
});
