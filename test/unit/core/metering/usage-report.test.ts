import type { AggregateRow } from '../../../../lambdas/core/metering/ports';
import { costOverview, groupUsage, ZERO_COUNTS } from '../../../../lambdas/core/metering/usage-report';

const zero = ZERO_COUNTS;
const detail = (day: string, provider: string, costMicros: number, extra: Partial<AggregateRow> = {}): AggregateRow =>
  ({
    ...zero,
    kind: 'detail',
    day,
    hour: '10',
    taskType: 'general',
    provider,
    model: 'gpt-4o',
    requests: 1,
    costMicros,
    latencyMs: 100,
    ...extra,
  }) as AggregateRow;

describe('groupUsage', () => {
  it('groups detail cells by provider, model, task or hour, and user cells by user', () => {
    const rows: AggregateRow[] = [
      detail('2026-11-01', 'openai', 100, { model: 'gpt-4o-mini', hour: '09' }),
      detail('2026-11-01', 'azure-openai', 300, { taskType: 'content_planning' }),
      detail('2026-11-02', 'openai', 50, { requests: 3, latencyMs: 900 }),
      { ...zero, kind: 'user', day: '2026-11-01', userId: 'u1', requests: 2, costMicros: 400 },
    ];
    expect(groupUsage(rows, 'provider').groups.map((g) => [g.key, g.requests, g.costMicros])).toEqual([
      ['azure-openai', 1, 300],
      ['openai', 4, 150],
    ]);
    expect(groupUsage(rows, 'provider').totals).toMatchObject({ requests: 5, costMicros: 450, costUsd: 0.00045, avgLatencyMs: 220 });
    expect(groupUsage(rows, 'model').groups.map((g) => g.key)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(groupUsage(rows, 'task').groups.map((g) => g.key)).toEqual(['content_planning', 'general']);
    expect(groupUsage(rows, 'hour').groups.map((g) => g.key)).toEqual(['2026-11-01T09:00Z', '2026-11-01T10:00Z', '2026-11-02T10:00Z']);
    expect(groupUsage(rows, 'user').groups).toEqual([expect.objectContaining({ key: 'u1', requests: 2, costMicros: 400 })]);
  });
});

describe('costOverview', () => {
  it('forecasts the month end from the average of the last 7 complete days', () => {
    // 2026-11-20 12:00 UTC: Nov has 30 days; 10.5 days left counting the rest of today.
    const now = Date.parse('2026-11-20T12:00:00Z');
    const rows = [
      detail('2026-11-01', 'openai', 5_000_000), // before the 7-day window: in MTD, not in the rate
      ...Array.from({ length: 7 }, (_, i) =>
        detail(`2026-11-${String(13 + i).padStart(2, '0')}`, i % 2 ? 'openai' : 'azure-openai', 1_000_000),
      ),
      detail('2026-11-20', 'openai', 400_000),
    ];
    const overview = costOverview(rows, now);
    expect(overview.today).toEqual({ day: '2026-11-20', costMicros: 400_000, costUsd: 0.4 });
    expect(overview.monthToDate.costMicros).toBe(12_400_000);
    expect(overview.monthToDate.byProvider).toEqual([
      { provider: 'openai', costMicros: 8_400_000, costUsd: 8.4 },
      { provider: 'azure-openai', costMicros: 4_000_000, costUsd: 4 },
    ]);
    // 12.4 + 1.0/day x 10.5 days
    expect(overview.forecast).toEqual({
      monthEndMicros: 22_900_000,
      monthEndUsd: 22.9,
      dailyRateUsd: 1,
      basis: 'average of the last 7 complete days',
    });
  });

  it('uses today’s pace when the complete days have no spend', () => {
    const overview = costOverview([detail('2026-11-20', 'openai', 500_000)], Date.parse('2026-11-20T12:00:00Z'));
    // 0.5 in half a day = 1.00 a day; 0.5 + 1.00 x 10.5 days left
    expect(overview.forecast).toEqual({ monthEndMicros: 11_000_000, monthEndUsd: 11, dailyRateUsd: 1, basis: "today's pace so far" });
  });

  it('uses today’s pace on the first of the month', () => {
    const overview = costOverview([detail('2026-12-01', 'openai', 250_000)], Date.parse('2026-12-01T06:00:00Z'));
    // 0.25 in a quarter day = 1.00 a day, over 31 days
    expect(overview.forecast).toEqual({ monthEndMicros: 31_000_000, monthEndUsd: 31, dailyRateUsd: 1, basis: "today's pace so far" });
  });
});
