/**
 * Usage records, costs, aggregates and alerts on the real app, dynalite and the simulated upstreams
 * (which report known `usage`), with an injected clock.
 */
import type { UsageRecord } from '../../lambdas/core/metering/usage-record';
import { CapturingAlerts, FakeClock } from '../helpers/fakes';
import { ADMIN_KEY, chatBody, readSseData, startTestGateway, type TestGateway } from '../helpers/local-gateway';

const T0 = Date.parse('2026-11-23T10:30:00.000Z');
const DAY = '2026-11-23';

/** gpt-4o-mini on OpenAI and Azure: $0.15 / $0.60 per million -> micro-dollars, half up per kind. */
const miniCost = (prompt: number, completion: number) =>
  Math.floor((prompt * 150_000 + 500_000) / 1e6) + Math.floor((completion * 600_000 + 500_000) / 1e6);

describe('usage and cost', () => {
  let gw: TestGateway;
  const clock = new FakeClock(T0);
  const alerts = new CapturingAlerts();
  beforeAll(async () => {
    gw = await startTestGateway({ overrides: { clock, alerts } });
  });
  afterAll(() => gw.close());
  afterEach(() => {
    gw.sims.openai!.setFault(undefined);
    gw.sims['azure-openai']!.setFault(undefined);
  });

  const recordOf = async (requestId: string | null): Promise<UsageRecord> => {
    await gw.gateway.background.drain();
    const records = (await gw.gateway.usage.recordsOfDay(DAY)).filter((r) => r.requestId === requestId);
    expect(records).toHaveLength(1);
    return records[0]!;
  };

  it('records a plain request with the provider’s tokens and an exact micro-dollar cost', async () => {
    const response = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    const body = await response.json();
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record).toMatchObject({
      userId: 'local-user',
      route: '/v1/chat/completions',
      taskType: 'general',
      path: 'orchestrated',
      provider: 'openai',
      model: 'gpt-4o-mini',
      inputTokens: body.usage.prompt_tokens,
      outputTokens: body.usage.completion_tokens,
      cachedTokens: 0,
      costMicros: miniCost(body.usage.prompt_tokens, body.usage.completion_tokens),
      status: 200,
      errorClass: null,
      fallback: false,
      attempts: 1,
      stream: false,
      tokensSource: 'provider',
      day: DAY,
      hour: '10',
    });
    expect(record.costMicros).toBeGreaterThan(0);
  });

  it('records every request once even when callers reuse an x-request-id (it is echoed, never the record key)', async () => {
    const before = (await gw.gateway.usage.recordsOfDay(DAY)).length;
    const headers = { 'x-request-id': 'caller-reused-1' };
    const first = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()), headers });
    const second = await gw.call('/api/ai/messages/generate', {
      method: 'POST',
      body: JSON.stringify({ creatorId: 'c_1', fanId: 'f_1', conversation: [{ from: 'fan', text: 'hi' }] }),
      headers,
    });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.headers.get('x-request-id'), second.headers.get('x-request-id')]).toEqual(['caller-reused-1', 'caller-reused-1']);
    expect((await second.json()).requestId).toBe('caller-reused-1');
    await gw.gateway.background.drain();
    const records = (await gw.gateway.usage.recordsOfDay(DAY)).filter((r) => r.callerRequestId === 'caller-reused-1');
    expect(records.map((r) => r.route).sort()).toEqual(['/api/ai/messages/generate', '/v1/chat/completions']);
    expect(new Set(records.map((r) => r.requestId)).size).toBe(2);
    for (const r of records) expect(r.requestId).toMatch(/^req_[0-9a-f]{24}$/);
    expect((await gw.gateway.usage.recordsOfDay(DAY)).length).toBe(before + 2);
  });

  it('records a stream with the usage the gateway asked for, even when the client did not', async () => {
    const response = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody({ stream: true })) });
    await readSseData(response);
    const record = await recordOf(response.headers.get('x-request-id'));
    // The same prompt as the plain request: the simulated upstream's counts are deterministic.
    const plain = await (await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) })).json();
    expect(record).toMatchObject({
      stream: true,
      tokensSource: 'provider',
      inputTokens: plain.usage.prompt_tokens,
      outputTokens: plain.usage.completion_tokens,
      costMicros: miniCost(plain.usage.prompt_tokens, plain.usage.completion_tokens),
    });
    expect(record.timeToFirstTokenMs).not.toBeNull();
  });

  it('records a fallback under the provider that answered', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 503 });
    const response = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    const body = await response.json();
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record).toMatchObject({
      provider: 'azure-openai',
      model: 'gpt-4o-mini',
      fallback: true,
      attempts: 3,
      costMicros: miniCost(body.usage.prompt_tokens, body.usage.completion_tokens),
    });
  });

  it('records failed and refused requests too, at zero tokens and zero cost', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 500 });
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 500 });
    const failed = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    expect(failed.status).toBe(502);
    expect(await recordOf(failed.headers.get('x-request-id'))).toMatchObject({
      status: 502,
      errorClass: 'server_error',
      inputTokens: 0,
      outputTokens: 0,
      costMicros: 0,
      tokensSource: 'none',
      attempts: 4,
    });
    const invalid = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'gpt-4o-mini' }) });
    expect(invalid.status).toBe(400);
    expect(await recordOf(invalid.headers.get('x-request-id'))).toMatchObject({ status: 400, provider: null, costMicros: 0 });
  });

  it('records OnlyFans messages too, refused ones included, at no token cost', async () => {
    const sent = await gw.call('/api/onlyfans/messages', {
      method: 'POST',
      body: JSON.stringify({ creatorId: 'c', fanId: 'f', text: 'hi' }),
    });
    expect(sent.status).toBe(202);
    expect(await recordOf(sent.headers.get('x-request-id'))).toMatchObject({
      route: '/api/onlyfans/messages',
      status: 202,
      provider: null,
      costMicros: 0,
      tokensSource: 'none',
    });
  });

  it('keeps aggregates equal to the sum of the records, for every grouping', async () => {
    await gw.gateway.background.drain();
    const records = await gw.gateway.usage.recordsOfDay(DAY);
    const sum = (rs: UsageRecord[], f: (r: UsageRecord) => number) => rs.reduce((a, r) => a + f(r), 0);
    for (const groupBy of ['provider', 'model', 'task', 'hour', 'user']) {
      const response = await gw.call(`/admin/usage?from=${DAY}&to=${DAY}&groupBy=${groupBy}`, { key: ADMIN_KEY });
      expect(response.status).toBe(200);
      const usage = await response.json();
      expect(usage.totals).toMatchObject({
        requests: records.length,
        inputTokens: sum(records, (r) => r.inputTokens),
        outputTokens: sum(records, (r) => r.outputTokens),
        costMicros: sum(records, (r) => r.costMicros ?? 0),
        errors: records.filter((r) => r.status >= 500 || r.errorClass !== null).length,
      });
    }
    const byProvider = await (await gw.call(`/admin/usage?from=${DAY}&groupBy=provider`, { key: ADMIN_KEY })).json();
    const azure = byProvider.data.find((g: { key: string }) => g.key === 'azure-openai');
    expect(azure.costMicros).toBe(
      sum(
        records.filter((r) => r.provider === 'azure-openai'),
        (r) => r.costMicros ?? 0,
      ),
    );
    expect(azure.costUsd).toBe(azure.costMicros / 1e6);
  });

  it('validates the usage query', async () => {
    for (const query of ['from=2026-13-01', 'groupBy=planet', 'from=2026-11-23&to=2026-11-01', 'from=2026-01-01&to=2026-12-31']) {
      const response = await gw.call(`/admin/usage?${query}`, { key: ADMIN_KEY });
      expect(response.status).toBe(400);
      expect((await response.json()).error.type).toBe('invalid_request_error');
    }
    expect((await gw.call('/admin/usage')).status).toBe(403);
  });

  it('answers a range ending on the last day of year 9999 (the day after it sorts before it as a string)', async () => {
    const response = await gw.call('/admin/usage?from=9999-12-29&to=9999-12-31', { key: ADMIN_KEY });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ from: '9999-12-29', to: '9999-12-31', data: [] });
  });

  it('reports today, month to date per provider, and a forecast', async () => {
    await gw.gateway.background.drain();
    const records = await gw.gateway.usage.recordsOfDay(DAY);
    const total = records.reduce((a, r) => a + (r.costMicros ?? 0), 0);
    const costs = await (await gw.call('/admin/costs', { key: ADMIN_KEY })).json();
    expect(costs.today).toEqual({ day: DAY, costMicros: total, costUsd: total / 1e6 });
    expect(costs.monthToDate.costMicros).toBe(total);
    expect(costs.monthToDate.byProvider.map((p: { provider: string }) => p.provider).sort()).toEqual(['azure-openai', 'openai']);
    // No spend in the 7 days before today: today's pace (10:30 UTC, 7/16 of the day gone) over the 30 days of November.
    const pace = total / (10.5 / 24);
    expect(costs.forecast).toMatchObject({
      basis: "today's pace so far",
      monthEndMicros: Math.round(total + pace * (30 - 23 + (1 - 10.5 / 24))),
    });
    expect(costs.priceVersion).toBe('2026-11-01');
  });
});

describe('sharded aggregate cells', () => {
  it('spreads the shared cells over AGGREGATE_SHARDS items and still sums to the records', async () => {
    // Batches of 5 records: each batch makes one write per cell, to a random shard.
    const gw = await startTestGateway({
      overrides: { clock: new FakeClock(T0) },
      env: { AGGREGATE_SHARDS: '4', AGGREGATION_BATCH_MS: '0' },
    });
    try {
      for (let batch = 0; batch < 8; batch++) {
        await Promise.all(
          Array.from({ length: 5 }, () => gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) })),
        );
        await gw.gateway.background.drain();
      }
      const records = await gw.gateway.usage.recordsOfDay(DAY);
      const usage = await (await gw.call(`/admin/usage?from=${DAY}&groupBy=model`, { key: ADMIN_KEY })).json();
      expect(usage.data).toEqual([
        expect.objectContaining({ key: 'gpt-4o-mini', requests: 40, costMicros: records.reduce((a, r) => a + (r.costMicros ?? 0), 0) }),
      ]);
      const cells = (await gw.gateway.usage.aggregates(DAY, DAY)).filter((r) => r.kind === 'detail');
      expect(cells.length).toBeGreaterThan(1);
      expect(cells.length).toBeLessThanOrEqual(4);
    } finally {
      await gw.close();
    }
  });
});

describe('unpriced models', () => {
  it('records the cost as unpriced, never as $0', async () => {
    const prices = { version: 't', currency: 'USD', source: 'test', models: { openai: { 'gpt-4o': { input: 2.5, output: 10 } } } };
    const gw = await startTestGateway({ overrides: { clock: new FakeClock(T0) }, env: { PRICES_JSON: JSON.stringify(prices) } });
    try {
      const response = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
      await gw.gateway.background.drain();
      const record = (await gw.gateway.usage.recordsOfDay(DAY)).find((r) => r.requestId === response.headers.get('x-request-id'))!;
      expect(record.costMicros).toBeNull();
      expect(record.inputTokens).toBeGreaterThan(0);
      const usage = await (await gw.call(`/admin/usage?from=${DAY}`, { key: ADMIN_KEY })).json();
      expect(usage.totals).toMatchObject({ unpriced: 1, costMicros: 0 });
    } finally {
      await gw.close();
    }
  });
});

describe('alerts', () => {
  it('sends exactly one alert per budget level when 100 concurrent requests cross them', async () => {
    const alerts = new CapturingAlerts();
    // Each request costs ~27 micro-dollars: 100 of them cross 50%, 80% and 100% of $0.002.
    const gw = await startTestGateway({
      overrides: { clock: new FakeClock(T0), alerts },
      env: { BUDGET_DAILY_USD: '0.002', BUDGET_USER_MONTHLY_USD: '0.001' },
    });
    try {
      const responses = await Promise.all(
        Array.from({ length: 100 }, () => gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) })),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      await gw.gateway.background.drain();
      const budget = alerts.sent.filter((a) => a.kind === 'budget');
      expect(budget.map((a) => `${a.context['scope']}@${a.context['level']}`).sort()).toEqual([
        'global-day@100',
        'global-day@50',
        'global-day@80',
        'user-month#local-user@100',
        'user-month#local-user@50',
        'user-month#local-user@80',
      ]);
      expect(budget.find((a) => a.context['level'] === 100)!.severity).toBe('critical');
      // More spend in the same period alerts no more.
      await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
      await gw.gateway.background.drain();
      expect(alerts.sent.filter((a) => a.kind === 'budget')).toHaveLength(6);
    } finally {
      await gw.close();
    }
  });

  it('alerts on critical errors with context, once per cooldown window', async () => {
    const alerts = new CapturingAlerts();
    const clock = new FakeClock(T0);
    const gw = await startTestGateway({ overrides: { clock, alerts }, env: { CRITICAL_ALERT_COOLDOWN_MINUTES: '5' } });
    try {
      gw.sims.openai!.setFault({ kind: 'status', status: 500 });
      gw.sims['azure-openai']!.setFault({ kind: 'status', status: 500 });
      await Promise.all(
        Array.from({ length: 20 }, () => gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) })),
      );
      await gw.gateway.background.drain();
      const critical = alerts.sent.filter((a) => a.kind === 'critical');
      expect(critical).toHaveLength(1);
      expect(critical[0]).toMatchObject({
        severity: 'critical',
        subject: expect.stringContaining('all providers failed'),
        context: {
          path: '/v1/chat/completions',
          status: 502,
          taskType: 'general',
          providersTried: ['openai', 'azure-openai'],
          errorClasses: ['server_error'],
        },
      });
      expect(critical[0]!.context['requestId']).toMatch(/^req_/);
      clock.advance(5 * 60_000);
      await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
      await gw.gateway.background.drain();
      expect(alerts.sent.filter((a) => a.kind === 'critical')).toHaveLength(2);
    } finally {
      await gw.close();
    }
  });
});
