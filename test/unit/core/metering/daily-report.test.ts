import { buildDailyReport, percentile, previousUtcDay, reportText } from '../../../../lambdas/core/metering/daily-report';
import type { UsageRecord } from '../../../../lambdas/core/metering/usage-record';
import { usageRecord } from '../../../helpers/usage-records';

let n = 0;
const record = (over: Partial<UsageRecord>): UsageRecord =>
  usageRecord({ requestId: `req_${++n}`, keyId: 'k', inputTokens: 100, outputTokens: 50, costMicros: 45, priceVersion: 'v', ...over });

describe('daily report', () => {
  it('matches hand-computed totals, per provider, per task, top users and the day before', () => {
    const day = [
      record({ latencyMs: 100 }),
      record({ latencyMs: 300, userId: 'u2', costMicros: 1000 }),
      record({ latencyMs: 200, provider: 'azure-openai', taskType: 'content_planning', model: 'gpt-4o', costMicros: 5000, fallback: true }),
      record({
        status: 502,
        errorClass: 'server_error',
        inputTokens: 0,
        outputTokens: 0,
        costMicros: 0,
        provider: null,
        model: null,
        tokensSource: 'none',
        latencyMs: 900,
      }),
      record({
        status: 429,
        inputTokens: 0,
        outputTokens: 0,
        costMicros: 0,
        provider: null,
        model: null,
        tokensSource: 'none',
        latencyMs: 3,
      }),
      record({ costMicros: null, userId: 'u3' }),
    ];
    const before = [record({ costMicros: 3000, day: '2026-11-21' }), record({ costMicros: 3045, day: '2026-11-21' })];
    const report = buildDailyReport('2026-11-22', day, '2026-11-21', before);
    expect(report.totals).toEqual({
      requests: 6,
      errors: 1,
      errorRate: 0.1667,
      inputTokens: 400,
      outputTokens: 200,
      cachedTokens: 0,
      costMicros: 6045,
      costUsd: 0.006045,
      unpriced: 1,
      estimated: 0,
      fallbacks: 1,
      rateLimited: 1,
      cacheHits: 0,
      savedUsd: 0,
    });
    expect(report.providers.map((p) => [p.provider, p.requests, p.costMicros, p.latencyP50Ms, p.latencyP99Ms])).toEqual([
      ['azure-openai', 1, 5000, 200, 200],
      ['openai', 3, 1045, 100, 300],
    ]);
    expect(report.taskTypes.map((t) => [t.taskType, t.requests, t.costMicros])).toEqual([
      ['content_planning', 1, 5000],
      ['general', 5, 1045],
    ]);
    expect(report.topUsers.map((u) => [u.userId, u.costMicros])).toEqual([
      ['u1', 5045],
      ['u2', 1000],
      ['u3', 0],
    ]);
    expect(report.previousDay).toEqual({
      day: '2026-11-21',
      totals: expect.objectContaining({ requests: 2, costMicros: 6045 }),
      change: { requestsPercent: 200, costPercent: 0 },
    });
    const text = reportText(report);
    expect(text).toContain('Hybrid Orchestrator daily report for 2026-11-22 (UTC)');
    expect(text).toContain('cost $0.0060, 1 unpriced');
    expect(text).toContain('1. u1: $0.0050 (4 requests)');
    expect(buildDailyReport('2026-11-22', [...day].reverse(), '2026-11-21', before)).toEqual(report);
  });

  it('uses nearest-rank percentiles and reports the previous UTC day', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(99);
    expect(previousUtcDay(Date.parse('2026-11-23T00:15:00Z'))).toBe('2026-11-22');
    expect(previousUtcDay(Date.parse('2028-03-01T00:15:00Z'))).toBe('2028-02-29');
  });
});
