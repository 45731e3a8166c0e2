/**
 * A refused request costs one round trip when the instance has seen the counter full before: the
 * violation is counted in a write whose condition proves the refusal. On the real counter store
 * against dynalite, with its calls counted.
 */
import { DynamoDbCounterStore } from '../../../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { parsePolicies } from '../../../../lambdas/core/rate-limit/policies';
import type { CounterStore } from '../../../../lambdas/core/rate-limit/ports';
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

/** The store, counting calls. */
function counted(): { store: CounterStore; calls: string[] } {
  const inner = new DynamoDbCounterStore(dynamo.doc, dynamo.table('rate-limits'));
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}

const limiter = (store: CounterStore, policy: object) => new RateLimiter(store, clock, parsePolicies(policy), systemRandom);

it.each([
  ['a calendar window (ai_requests)', 'ai_requests', 2, { ai_requests: { minute: 2, hour: 100, day: 100 } }],
  ['a sliding log (onlyfans_messaging)', 'onlyfans_messaging', 2, { onlyfans_messaging: { minute: 2, hour: 100, day: 100 } }],
  ['a sliding ring (onlyfans_messaging, hour)', 'onlyfans_messaging', 60, { onlyfans_messaging: { minute: null, hour: 60, day: 1000 } }],
] as const)('%s: a repeated refusal is one write, and its violation is counted', async (_name, policy, limit, policies) => {
  const userId = `refused-${users++}`;
  const { store, calls } = counted();
  const l = limiter(store, policies);
  for (let i = 0; i < limit; i++) expect((await l.admit({ userId, plan: 'pro', policy })).allowed).toBe(true);
  const first = await l.admit({ userId, plan: 'pro', policy });
  expect(first.allowed).toBe(false);
  calls.length = 0;
  const again = await l.admit({ userId, plan: 'pro', policy });
  expect(again.allowed).toBe(false);
  expect(calls).toEqual(['write']);
  const status = await l.status(userId, 'pro');
  expect(status.limits[policy].violations.minute).toBe(2);
});

it('a counter that changed under a remembered refusal (a refund elsewhere) admits instead', async () => {
  const userId = `refunded-${users++}`;
  const policies = { ai_requests: { minute: 1, hour: 100, day: 100 } };
  const a = limiter(counted().store, policies);
  const b = limiter(counted().store, policies);
  const admitted = await a.admit({ userId, plan: 'pro', policy: 'ai_requests' });
  expect(admitted.allowed).toBe(true);
  expect((await a.admit({ userId, plan: 'pro', policy: 'ai_requests' })).allowed).toBe(false);
  // Another instance gives the slot back; this one still remembers the window full.
  if (admitted.allowed) await b.refund(admitted.ticket);
  expect((await a.admit({ userId, plan: 'pro', policy: 'ai_requests' })).allowed).toBe(true);
});
