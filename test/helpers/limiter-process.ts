/**
 * A rate limiter in its own process (like one Lambda instance), on the DynamoDB engine named by
 * `DYNAMODB_ENDPOINT`, for the cross-process property test. Each message sets the clock and runs
 * `count` admissions concurrently, or refunds a ticket; the limiter (and its memory of the items)
 * lives as long as the process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCounterStore } from '../../lambdas/adapters/dynamodb/dynamodb-counter-store';
import { parsePolicies } from '../../lambdas/core/rate-limit/policies';
import { RateLimiter, type AdmissionTicket } from '../../lambdas/core/rate-limit/rate-limiter';
import { systemRandom } from '../../lambdas/shared/system';
import { FakeClock } from './fakes';

export type LimiterMessage =
  | { id: number; op: 'admit'; now: number; userId: string; count: number; config: LimiterConfig }
  | { id: number; op: 'refund'; ticket: AdmissionTicket; config: LimiterConfig };
export interface LimiterConfig {
  policies: unknown;
  logSlotsMax: number;
}
export type LimiterReply = { id: number; decisions?: Array<{ allowed: boolean; ticket?: AdmissionTicket }>; error?: string };

const raw = new DynamoDBClient({
  region: 'us-east-1',
  endpoint: process.env['DYNAMODB_ENDPOINT'],
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const store = new DynamoDbCounterStore(DynamoDBDocumentClient.from(raw), process.env['RATE_LIMITS_TABLE']!);
const clock = new FakeClock(0);
const limiters = new Map<string, RateLimiter>();

function limiter(config: LimiterConfig): RateLimiter {
  const key = JSON.stringify(config);
  let found = limiters.get(key);
  if (!found) {
    found = new RateLimiter(store, clock, parsePolicies(config.policies), systemRandom, { logSlotsMax: config.logSlotsMax });
    limiters.set(key, found);
  }
  return found;
}

process.on('message', async (msg: LimiterMessage) => {
  try {
    if (msg.op === 'admit') {
      clock.current = msg.now;
      const decisions = await Promise.all(
        Array.from({ length: msg.count }, () =>
          limiter(msg.config).admit({ userId: msg.userId, plan: 'free', policy: 'onlyfans_messaging' }),
        ),
      );
      process.send!({
        id: msg.id,
        decisions: decisions.map((d) => (d.allowed ? { allowed: true, ticket: d.ticket } : { allowed: false })),
      });
    } else {
      await limiter(msg.config).refund(msg.ticket);
      process.send!({ id: msg.id });
    }
  } catch (error) {
    process.send!({ id: msg.id, error: String(error) });
  }
});
process.on('disconnect', () => {
  raw.destroy();
  process.exit(0);
});
process.send!({ ready: true });
