/**
 * Recommendations and cost views from real usage records (dynalite, simulated upstreams, an injected
 * clock): repeats a cache would answer, quality-model spend on simple prompts, oversized output caps,
 * daily costs per model, a weekday-aware forecast, and what the cache and smart routing saved.
 */
import { costViews } from '../../lambdas/core/metering/cost-insights';
import type { AggregateRow } from '../../lambdas/core/metering/ports';
import { ZERO_COUNTS } from '../../lambdas/core/metering/usage-report';
import { FakeClock } from '../helpers/fakes';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../helpers/local-gateway';
import { orchestratedFlagsFile } from '../helpers/flags';

// A Wednesday.
const T0 = Date.parse('2026-11-18T09:00:00.000Z');

describe('recommendations and cost views', () => {
  let gw: TestGateway;
  const clock = new FakeClock(T0);
  const chat = (json: unknown, headers: Record<string, string> = {}) =>
    gw.call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(json),
    });
  const admin = (path: string, method = 'GET') => gw.call(path, { method, key: ADMIN_KEY });

  beforeAll(async () => {
    const flags = orchestratedFlagsFile({ response_caching: { enabled: false } });
    gw = await startTestGateway({ env: { FLAGS_FILE: flags }, overrides: { clock } });
  });
  afterAll(() => gw.close());

  it('recommends the cache, a cheaper tier for simple prompts and a smaller output cap, with savings from the records', async () => {
    const repeated = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What are your opening hours?' }], max_tokens: 4000 };
    for (let i = 0; i < 25; i++) expect((await chat(repeated)).status).toBe(200);
    const simpleOnQuality = { model: 'gpt-4.1', messages: [{ role: 'user', content: 'Say thanks to Sam for the tip.' }] };
    for (let i = 0; i < 3; i++)
      expect((await chat({ ...simpleOnQuality, messages: [{ role: 'user', content: `Say thanks to fan ${i}.` }] })).status).toBe(200);
    await gw.gateway.background.drain();

    const response = await admin('/admin/recommendations');
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      requests: number;
      totalPotentialSavingsUsd: number;
      data: Array<{ type: string; potentialSavingsUsd: number; evidence: Record<string, number>; change: Record<string, unknown> }>;
    };
    const byType = Object.fromEntries(body.data.map((r) => [r.type, r]));
    expect(byType['cache']).toMatchObject({
      evidence: { repeatedRequests: 24, distinctRepeatedRequests: 1 },
      change: { flag: 'response_caching' },
    });
    expect(byType['cache']!.potentialSavingsUsd).toBeGreaterThan(0);
    expect(byType['model_downgrade']).toMatchObject({
      evidence: { requests: 3 },
      change: { routeTableDiff: { tasks: { general: { smart: true } } } },
    });
    expect(byType['model_downgrade']!.potentialSavingsUsd).toBeGreaterThan(0);
    expect(byType['max_tokens']).toMatchObject({ evidence: { requests: 25, maxTokensMedian: 4000 } });
    expect(body.totalPotentialSavingsUsd).toBeCloseTo(
      body.data.reduce((s, r) => s + r.potentialSavingsUsd, 0),
      6,
    );

    // The legacy name returns the same, for admins only.
    const legacy = await admin('/api/ai-providers/optimize', 'POST');
    expect(((await legacy.json()) as { data: unknown[] }).data).toEqual(body.data);
    expect((await gw.call('/api/ai-providers/optimize', { method: 'POST' })).status).toBe(403);
    expect((await admin('/admin/recommendations?from=2026-01-01&to=2026-11-18')).status).toBe(400);
  });

  it('shows 30 days of cost per provider and model, the savings, and a forecast', async () => {
    const response = await admin('/api/ai-providers/costs');
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      days: Array<{ day: string; costUsd: number; byModel: Array<{ provider: string; model: string; costUsd: number }> }>;
      monthToDateUsd: number;
      forecast: { monthEndUsd: number; basis: string };
      savings: { cacheUsd: number; routingUsd: number };
    };
    expect(body.days).toHaveLength(30);
    expect(body.days.at(-1)!.day).toBe('2026-11-18');
    expect(
      body.days
        .at(-1)!
        .byModel.map((m) => m.model)
        .sort(),
    ).toEqual(['gpt-4.1', 'gpt-4o-mini']);
    expect(body.monthToDateUsd).toBeGreaterThan(0);
    expect(body.forecast.monthEndUsd).toBeGreaterThan(body.monthToDateUsd);
  });
});

describe('the month-end forecast', () => {
  const row = (day: string, costMicros: number): AggregateRow => ({
    kind: 'detail',
    day,
    hour: '10',
    taskType: 'general',
    provider: 'openai',
    model: 'gpt-4o-mini',
    ...ZERO_COUNTS,
    requests: 1,
    costMicros,
  });

  it('projects each remaining day at its weekday’s average, not a straight line', () => {
    // Four weeks of a weekday-only workload: $10 on Monday to Friday, nothing at weekends.
    const rows: AggregateRow[] = [];
    for (let d = Date.parse('2026-10-01T00:00:00Z'); d < Date.parse('2026-11-16T00:00:00Z'); d += 86_400_000) {
      const day = new Date(d).toISOString().slice(0, 10);
      const weekday = new Date(d).getUTCDay();
      if (weekday !== 0 && weekday !== 6) rows.push(row(day, 10_000_000));
    }
    // Monday 2026-11-16, end of day: the rest of November has 10 weekdays (17-20, 23-27, 30) and 4 weekend days.
    const views = costViews(rows, Date.parse('2026-11-16T23:59:59Z'), 30);
    // Month to date: the 10 weekdays from 2 to 13 November (the 16th has no spend yet).
    expect(views.monthToDateUsd).toBe(100);
    // A straight line from month to date would say 100 / 16 * 30 = 187.5.
    expect(views.forecast.monthEndUsd).toBeCloseTo(200, 0);
    expect(views.forecast.basis).toMatch(/weekday/);
  });
});
