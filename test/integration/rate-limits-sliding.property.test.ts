/**
 * A sliding policy across processes: for any interleaving of concurrent admissions from two separate
 * processes (each with its own memory of the item, like two Lambda instances) and any clock advances,
 * no window of a policy's length ever holds more admissions than its limit, refunds included; and the
 * live status agrees with what was admitted. Runs the minute as an exact log and, in half the runs,
 * the hour and the day as bucket rings (in the others as logs), on the real store against dynalite.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { DynamoDbCounterStore } from '../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { parsePolicies } from '../../lambdas/core/rate-limit/policies';
import { RateLimiter, type AdmissionTicket } from '../../lambdas/core/rate-limit/rate-limiter';
import { systemRandom } from '../../lambdas/shared/system';
import { FakeClock } from '../helpers/fakes';
import { startTestDynamo, type TestDynamo } from '../helpers/dynamo';
import type { LimiterConfig, LimiterMessage, LimiterReply } from '../helpers/limiter-process';

const LIMITS = { minute: 3, hour: 5, day: 8 } as const;
const WINDOW_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const policies = { onlyfans_messaging: { ...LIMITS, algorithm: 'sliding' } };

type Request = LimiterMessage extends infer M ? (M extends unknown ? Omit<M, 'id'> : never) : never;

interface Worker {
  child: ChildProcess;
  call(msg: Request): Promise<LimiterReply>;
}

async function startWorker(env: Record<string, string>): Promise<Worker> {
  const child = fork(join(__dirname, '..', 'helpers', 'limiter-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('message', () => resolve());
  });
  let next = 0;
  const pending = new Map<number, (reply: LimiterReply) => void>();
  child.on('message', (reply: LimiterReply) => pending.get(reply.id)?.(reply));
  return {
    child,
    call: (msg) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
        child.send({ ...msg, id });
      }),
  };
}

let dynamo: TestDynamo;
let workers: Worker[] = [];
beforeAll(async () => {
  dynamo = await startTestDynamo();
  const env = { DYNAMODB_ENDPOINT: dynamo.endpoint, RATE_LIMITS_TABLE: dynamo.table('rate-limits') };
  workers = await Promise.all([startWorker(env), startWorker(env)]);
}, 60_000);
afterAll(async () => {
  await Promise.all(workers.map((w) => new Promise((done) => (w.child.once('exit', done), w.child.disconnect()))));
  await dynamo.close();
});

type Step = { kind: 'burst'; sizes: [number, number] } | { kind: 'advance'; ms: number } | { kind: 'refund' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('burst' as const), sizes: fc.tuple(fc.nat(5), fc.nat(5)) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 20_000, max: 70_000 }),
        fc.integer({ min: 250_000, max: 400_000 }),
        fc.integer({ min: 3_000_000, max: 4_000_000 }),
        fc.integer({ min: 80_000_000, max: 90_000_000 }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'refund' as const }) },
);

/** The most admissions any window of `windowMs` (half-open, like the limiter's) holds. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (sorted[i]! - sorted[j]! >= windowMs) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

let run = 0;

it('never admits more than a limit in any sliding window, across two processes', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 1, maxLength: 25 }),
      fc.integer({ min: 0, max: 86_399_999 }),
      fc.boolean(),
      async (steps, startOffset, rings) => {
        const config: LimiterConfig = { policies, logSlotsMax: rings ? LIMITS.minute : 50 };
        const clock = new FakeClock(Date.UTC(2028, 1, 28) + startOffset);
        const userId = `sliding-${run++}`;
        const admitted: Array<{ at: number; ticket: AdmissionTicket }> = [];
        for (const s of steps) {
          if (s.kind === 'advance') clock.advance(s.ms);
          else if (s.kind === 'refund') {
            // A refunded admission no longer counts (its slot or bucket is given back).
            const last = admitted.pop();
            if (last) await workers[0]!.call({ op: 'refund', ticket: last.ticket, config });
          } else {
            const replies = await Promise.all(
              s.sizes.map((count, i) => workers[i]!.call({ op: 'admit', now: clock.now(), userId, count, config })),
            );
            for (const d of replies.flatMap((r) => r.decisions ?? [])) if (d.allowed) admitted.push({ at: clock.now(), ticket: d.ticket! });
          }
        }
        const times = admitted.map((a) => a.at);
        for (const kind of ['minute', 'hour', 'day'] as const)
          expect(busiestWindow(times, WINDOW_MS[kind])).toBeLessThanOrEqual(LIMITS[kind]);

        // The status counts exactly the last window's admissions in a log; a ring also counts its
        // oldest bucket in full (up to one bucket, a twelfth of the window, further back).
        const limiter = new RateLimiter(
          new DynamoDbCounterStore(dynamo.doc, dynamo.table('rate-limits')),
          clock,
          parsePolicies(policies),
          systemRandom,
          {
            logSlotsMax: config.logSlotsMax,
          },
        );
        const status = (await limiter.status(userId, 'free')).limits.onlyfans_messaging;
        const now = clock.now();
        for (const kind of ['minute', 'hour', 'day'] as const) {
          const windowMs = WINDOW_MS[kind];
          const exact = times.filter((at) => at > now - windowMs).length;
          if (LIMITS[kind] <= config.logSlotsMax) expect(status[kind].used).toBe(exact);
          else {
            expect(status[kind].used).toBeGreaterThanOrEqual(exact);
            expect(status[kind].used).toBeLessThanOrEqual(times.filter((at) => at > now - windowMs - windowMs / 12).length);
          }
        }
      },
    ),
    { numRuns: 60 },
  );
}, 180_000);
