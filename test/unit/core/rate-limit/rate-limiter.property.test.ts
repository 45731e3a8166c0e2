/**
 * A fixed-window policy: for any interleaving of concurrent requests (across several limiter instances
 * sharing one table) and clock advances, the requests admitted in any calendar window never exceed its
 * limit. Runs on the real counter store against dynalite. (The sliding policy's property runs across
 * processes: `test/integration/rate-limits-sliding.property.test.ts`.)
 */
import fc from 'fast-check';
import { DynamoDbCounterStore } from '../../../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { parsePolicies } from '../../../../lambdas/core/rate-limit/policies';
import { RateLimiter } from '../../../../lambdas/core/rate-limit/rate-limiter';
import { windowIndex } from '../../../../lambdas/core/rate-limit/windows';
import { systemRandom } from '../../../../lambdas/shared/system';
import { FakeClock } from '../../../helpers/fakes';
import { startTestDynamo, type TestDynamo } from '../../../helpers/dynamo';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

const LIMITS = { minute: 3, hour: 5, day: 8 } as const;
const policies = parsePolicies({ onlyfans_messaging: { ...LIMITS, algorithm: 'fixed' } });

type Step = { kind: 'burst'; sizes: number[] } | { kind: 'advance'; ms: number } | { kind: 'refund' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      sizes: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 3, maxLength: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 50_000, max: 70_000 }),
        fc.integer({ min: 3_000_000, max: 4_000_000 }),
        fc.integer({ min: 80_000_000, max: 90_000_000 }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'refund' as const }) },
);

let run = 0;

it('never admits more than a window’s limit in any calendar window', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 1, maxLength: 25 }),
      fc.integer({ min: 0, max: 86_399_999 }),
      async (steps, startOffset) => {
        const clock = new FakeClock(Date.UTC(2028, 1, 28) + startOffset);
        // Three instances with their own memory of the item, one table: like three Lambda instances.
        const limiters = [0, 1, 2].map(
          () => new RateLimiter(new DynamoDbCounterStore(dynamo.doc, dynamo.table('rate-limits')), clock, policies, systemRandom),
        );
        const userId = `prop-${run++}`;
        const admitted: number[] = [];
        const tickets: Array<{ at: number; ticket: Parameters<RateLimiter['refund']>[0] }> = [];
        for (const s of steps) {
          if (s.kind === 'advance') {
            clock.advance(s.ms);
          } else if (s.kind === 'refund') {
            // A refunded request no longer counts (the slot is given back), in its own window.
            const last = tickets.pop();
            if (last) {
              await limiters[0]!.refund(last.ticket);
              admitted.splice(admitted.lastIndexOf(last.at), 1);
            }
          } else {
            const decisions = await Promise.all(
              s.sizes.flatMap((n, i) =>
                Array.from({ length: n }, () => limiters[i]!.admit({ userId, plan: 'free', policy: 'onlyfans_messaging' })),
              ),
            );
            for (const d of decisions) {
              if (d.allowed) {
                admitted.push(clock.now());
                tickets.push({ at: clock.now(), ticket: d.ticket });
              }
            }
          }
        }
        for (const kind of ['minute', 'hour', 'day'] as const) {
          const perWindow = new Map<number, number>();
          for (const at of admitted) perWindow.set(windowIndex(kind, at), (perWindow.get(windowIndex(kind, at)) ?? 0) + 1);
          for (const count of perWindow.values()) expect(count).toBeLessThanOrEqual(LIMITS[kind]);
        }
        // And the status agrees with what was admitted in the current windows.
        const status = await limiters[1]!.status(userId, 'free');
        for (const kind of ['minute', 'hour', 'day'] as const) {
          const expected = admitted.filter((at) => windowIndex(kind, at) === windowIndex(kind, clock.now())).length;
          expect(status.limits.onlyfans_messaging[kind].used).toBe(expected);
        }
      },
    ),
    { numRuns: 60 },
  );
}, 120_000);
