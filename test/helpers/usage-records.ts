/** Usage records for tests that store or aggregate them directly (not through the app). */
import type { UsageRecord } from '../../lambdas/core/metering/usage-record';

/** A successful, priced chat completion at `createdAt` (its day and hour follow), with `overrides`. */
export function usageRecord(overrides: Partial<UsageRecord> = {}): UsageRecord {
  const createdAt = overrides.createdAt ?? '2026-11-22T10:00:00.000Z';
  return {
    requestId: 'req_1',
    userId: 'u1',
    keyId: 'key_1',
    route: '/v1/chat/completions',
    taskType: 'general',
    path: 'orchestrated',
    provider: 'openai',
    model: 'gpt-4o-mini',
    inputTokens: 10,
    outputTokens: 5,
    cachedTokens: 0,
    costMicros: 5,
    priceVersion: 'test',
    latencyMs: 100,
    timeToFirstTokenMs: null,
    status: 200,
    errorClass: null,
    fallback: false,
    attempts: 1,
    stream: false,
    tokensSource: 'provider',
    createdAt,
    day: createdAt.slice(0, 10),
    hour: createdAt.slice(11, 13),
    ...overrides,
  };
}
