/**
 * One send per idempotency key even when storage is slow: the claim belongs to the request that made
 * it (only it completes or releases it), and a message is sent only while its claim outlasts the send.
 * On the real idempotency and counter stores against dynalite, with an injected clock.
 */
import { DynamoDbCounterStore } from '../../../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { DynamoDbIdempotencyStore } from '../../../../lambdas/adapters/dynamodb/dynamodb-idempotency-store';
import type { Principal } from '../../../../lambdas/core/access/ports';
import { MessageService } from '../../../../lambdas/core/messaging/message-service';
import type { MessageGateway, OnlyFansMessage } from '../../../../lambdas/core/messaging/ports';
import { parsePolicies } from '../../../../lambdas/core/rate-limit/policies';
import { RateLimiter } from '../../../../lambdas/core/rate-limit/rate-limiter';
import { systemRandom } from '../../../../lambdas/shared/system';
import { startTestDynamo, type TestDynamo } from '../../../helpers/dynamo';
import { FakeClock } from '../../../helpers/fakes';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

const LEASE_MS = 20_000;
const SEND_MS = 10_000;
const message: OnlyFansMessage = { creatorId: 'c_1', fanId: 'f_1', text: 'hello' };
let users = 0;

/** The OnlyFans gateway as the service sees it: it notes each message, and runs `during` while sending. */
function gateway(during: () => void = () => undefined): MessageGateway & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    send: async (_message, idempotencyKey) => {
      during();
      sent.push(idempotencyKey);
      return { messageId: `gw_${sent.length}` };
    },
  };
}

function setup(clock: FakeClock, gw: MessageGateway) {
  const idempotency = new DynamoDbIdempotencyStore(dynamo.doc, dynamo.table('rate-limits'));
  const counters = new DynamoDbCounterStore(dynamo.doc, dynamo.table('rate-limits'));
  const limiter = new RateLimiter(
    counters,
    clock,
    parsePolicies({ onlyfans_messaging: { minute: 10, hour: 100, day: 1000 } }),
    systemRandom,
  );
  // Slow storage: each admission takes `admissionMs` on the clock.
  const slow = { admissionMs: 0 };
  const admit = limiter.admit.bind(limiter);
  limiter.admit = async (...args) => {
    const decision = await admit(...args);
    clock.advance(slow.admissionMs);
    return decision;
  };
  const service = new MessageService(limiter, gw, idempotency, clock, systemRandom, {
    leaseMs: LEASE_MS,
    sendMs: SEND_MS,
    retentionSeconds: 3600,
  });
  const principal: Principal = { userId: `sender-${users++}`, keyId: 'k', plan: 'pro', role: 'user' } as Principal;
  const used = async () => (await limiter.status(principal.userId, 'pro')).limits['onlyfans_messaging'].minute.used;
  return { idempotency, service, principal, used, slow };
}

it('does not send when the claim could run out during the send: the slot and the claim are given back', async () => {
  const clock = new FakeClock();
  const gw = gateway();
  const { service, principal, used, slow } = setup(clock, gw);
  // The admission took long enough that less than the send's time is left of the lease.
  slow.admissionMs = LEASE_MS - SEND_MS + 1;
  expect(await service.send(principal, message, 'slow-1')).toEqual({ kind: 'not_sent' });
  expect(gw.sent).toEqual([]);
  expect(await used()).toBe(0);
  // The claim was given back: a retry sends at once.
  slow.admissionMs = 0;
  expect((await service.send(principal, message, 'slow-1')).kind).toBe('sent');
  expect(gw.sent).toEqual(['slow-1']);
});

it('leaves a claim taken over by another request alone: the first owner neither completes nor releases it', async () => {
  const clock = new FakeClock();
  const { idempotency } = setup(clock, gateway());
  const key = `idem#owners#${users++}`;
  const claim = (owner: string) =>
    idempotency.claim(key, { owner, fingerprint: 'f', now: clock.now(), leaseUntil: clock.now() + LEASE_MS, expiresAt: 2e9 });
  expect(await claim('first')).toEqual({ state: 'claimed' });
  expect(await claim('second')).toEqual({ state: 'in_progress', fingerprint: 'f' });
  // The first owner's lease runs out (it is presumed dead) and the second takes the claim over.
  clock.advance(LEASE_MS + 1);
  expect(await claim('second')).toEqual({ state: 'claimed' });
  await idempotency.release(key, 'first');
  expect(await idempotency.complete(key, 'first', { fingerprint: 'f', status: 202, body: '{"by":"first"}', expiresAt: 2e9 })).toBe(false);
  expect(await claim('third')).toEqual({ state: 'in_progress', fingerprint: 'f' });
  // Its owner completes it; the result is what later retries get.
  expect(await idempotency.complete(key, 'second', { fingerprint: 'f', status: 202, body: '{"by":"second"}', expiresAt: 2e9 })).toBe(true);
  expect(await claim('third')).toEqual({ state: 'completed', fingerprint: 'f', status: 202, body: '{"by":"second"}' });
});
