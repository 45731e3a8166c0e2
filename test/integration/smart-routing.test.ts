/**
 * Smart routing on the real app and the simulated upstreams: `model: "auto"` picks a tier from the
 * prompt's complexity and `optimize_for`, plans cap or lift it, `max_cost_usd` and `max_latency_ms`
 * filter targets (the latter by the health engine's recent p95), a target taken out of rotation is
 * never chosen, the explanation is what the request then does, and usage records keep the savings.
 */
import { ADMIN_KEY, startTestGateway, usageRecordOf, type TestGateway } from '../helpers/local-gateway';
import { conformance } from '../helpers/openai-schemas';

const SIMPLE = 'Say a quick thank you to Sam for the tip.';
const COMPLEX =
  'Prove that the square root of 2 is irrational, then derive step by step why the same argument fails for the square root of 4, and justify each step.';

const auto = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'auto',
  messages: [{ role: 'user', content }],
  max_tokens: 64,
  ...extra,
});

describe('smart routing', () => {
  let gw: TestGateway;
  const post = (path: string, json: unknown, init: { key?: string; headers?: Record<string, string> } = {}) =>
    gw.call(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...init.headers },
      body: JSON.stringify(json),
      ...(init.key ? { key: init.key } : {}),
    });
  const newKey = async (userId: string, plan: string) => {
    const response = await gw.call('/admin/api-keys', {
      method: 'POST',
      key: ADMIN_KEY,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId, plan }),
    });
    return ((await response.json()) as { key: string }).key;
  };
  const recordOf = (requestId: string | null) => usageRecordOf(gw, requestId);

  beforeAll(async () => {
    gw = await startTestGateway({ env: { HEALTH_FLUSH_MS: '10' } });
  });
  afterAll(() => gw.close());
  afterEach(() => {
    gw.sims.openai!.latencyMs = 0;
  });

  it('sends a simple prompt to the fast tier and a complex one to the quality tier, and says so', async () => {
    const simple = await post('/v1/chat/completions', auto(SIMPLE));
    expect(simple.status).toBe(200);
    expect(simple.headers.get('x-orchestrator-complexity')).toBe('simple');
    expect(simple.headers.get('x-orchestrator-tier')).toBe('fast');
    expect(simple.headers.get('x-orchestrator-model')).toBe('gpt-4.1-nano');
    expect(conformance('CreateChatCompletionResponse', await simple.json())).toEqual([]);

    const complex = await post('/v1/chat/completions', auto(COMPLEX));
    expect(complex.headers.get('x-orchestrator-complexity')).toBe('complex');
    expect(complex.headers.get('x-orchestrator-tier')).toBe('quality');
    expect(complex.headers.get('x-orchestrator-model')).toBe('gpt-4.1');

    // The gateway's own fields never reach the provider, and the provider is asked for a real model.
    const sent = gw.sims.openai!.requests.at(-1)!.body!;
    expect(sent['model']).toBe('gpt-4.1');
    const withFields = await post('/v1/chat/completions', auto(SIMPLE, { optimize_for: 'cost', max_cost_usd: 1 }));
    expect(withFields.status).toBe(200);
    const forwarded = gw.sims.openai!.requests.at(-1)!.body!;
    expect(Object.keys(forwarded)).not.toEqual(expect.arrayContaining(['optimize_for']));
    expect(forwarded).not.toHaveProperty('max_cost_usd');
  });

  it('keeps the complexity, the tier and what the quality tier would have cost in the usage record', async () => {
    const simple = await post('/v1/chat/completions', auto(SIMPLE));
    const record = await recordOf(simple.headers.get('x-request-id'));
    expect(record).toMatchObject({ complexity: 'simple', tier: 'fast', model: 'gpt-4.1-nano' });
    expect(record.costMicros).toBeGreaterThan(0);
    // gpt-4.1 costs 20 times gpt-4.1-nano per token.
    expect(record.qualityCostMicros).toBeGreaterThan(record.costMicros! * 10);
  });

  it('moves the tier with optimize_for (body or header) and the caller’s plan', async () => {
    const latency = await post('/v1/chat/completions', auto(COMPLEX, { optimize_for: 'latency' }));
    expect(latency.headers.get('x-orchestrator-tier')).toBe('balanced');
    const quality = await post('/v1/chat/completions', auto(SIMPLE), { headers: { 'x-optimize-for': 'quality' } });
    expect(quality.headers.get('x-orchestrator-tier')).toBe('balanced');

    const free = await newKey('smart-free-user', 'free');
    const capped = await post('/v1/chat/completions', auto(COMPLEX), { key: free });
    expect(capped.headers.get('x-orchestrator-tier')).toBe('balanced');
    // Pro gets the quality tier for content planning, however simple the prompt.
    const planning = await post('/v1/chat/completions', auto('Three caption ideas for a beach photo.'), {
      headers: { 'x-task-type': 'content_planning' },
    });
    expect(planning.headers.get('x-orchestrator-tier')).toBe('quality');
    expect(planning.headers.get('x-orchestrator-model')).toBe('gpt-4o');
  });

  it('answers 400 naming the constraint and the closest alternative when no target meets it, and steps down a tier when one does', async () => {
    const tooCheap = await post('/v1/chat/completions', auto(COMPLEX, { max_cost_usd: 0.0000001 }));
    expect(tooCheap.status).toBe(400);
    const body = (await tooCheap.json()) as { error: { code: string; param: string; message: string } };
    expect(conformance('ErrorResponse', body)).toEqual([]);
    expect(body.error).toMatchObject({ code: 'routing_constraint_unsatisfiable', param: 'max_cost_usd' });
    expect(body.error.message).toMatch(/cheapest is openai\/gpt-4\.1-nano at an estimated \$0\.0000/);

    // gpt-4.1 at 64 output tokens costs about $0.0006; nano about $0.00003.
    const stepped = await post('/v1/chat/completions', auto(COMPLEX, { max_cost_usd: 0.0002 }));
    expect(stepped.status).toBe(200);
    expect(stepped.headers.get('x-orchestrator-tier')).not.toBe('quality');

    const concrete = await post('/v1/chat/completions', { ...auto(SIMPLE), model: 'gpt-4o-mini', optimize_for: 'cost' });
    expect(concrete.status).toBe(400);
  });

  it('leaves out targets whose recent p95 is over max_latency_ms', async () => {
    // OpenAI turns slow; a few calls give the health engine its latency figures.
    gw.sims.openai!.latencyMs = 150;
    for (let i = 0; i < 3; i++)
      expect((await post('/v1/chat/completions', auto(COMPLEX))).headers.get('x-orchestrator-provider')).toBe('openai');
    await new Promise((r) => setTimeout(r, 50));
    await gw.gateway.health.flushAll();
    const fast = await post('/v1/chat/completions', auto(COMPLEX, { max_latency_ms: 100 }));
    expect(fast.status).toBe(200);
    expect(fast.headers.get('x-orchestrator-provider')).toBe('azure-openai');
    expect(fast.headers.get('x-orchestrator-tier')).toBe('quality');
  });

  it('explains the choice it then makes, and never picks a target taken out of rotation', async () => {
    const request = auto(COMPLEX);
    const explained = await post('/v1/routing/explain', request);
    expect(explained.status).toBe(200);
    const explanation = (await explained.json()) as Record<string, unknown> & { alternatives: unknown[]; fallbackProviders: unknown[] };
    expect(explanation).toMatchObject({
      selectedProvider: 'openai',
      model: 'gpt-4.1',
      tier: 'quality',
      complexity: 'complex',
      optimizationApplied: { optimizeFor: 'cost', adjustments: [] },
      selectionCriteria: { specialization: 1 },
    });
    expect(explanation['estimatedCost']).toBeGreaterThan(0);
    expect(explanation['confidence']).toBeGreaterThanOrEqual(0);
    expect(explanation.fallbackProviders[0]).toEqual({ provider: 'azure-openai', model: 'gpt-4.1' });
    expect(explanation.alternatives.length).toBeGreaterThan(3);
    const real = await post('/v1/chat/completions', request);
    expect([
      real.headers.get('x-orchestrator-provider'),
      real.headers.get('x-orchestrator-model'),
      real.headers.get('x-orchestrator-tier'),
    ]).toEqual(['openai', 'gpt-4.1', 'quality']);

    const down = await gw.call('/api/ai-providers/failover', {
      method: 'POST',
      key: ADMIN_KEY,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'openai', model: 'gpt-4.1', state: 'down', reason: 'test' }),
    });
    expect(down.status).toBe(200);
    try {
      const after = (await (await post('/v1/routing/explain', request)).json()) as Record<string, unknown>;
      expect(after).toMatchObject({ selectedProvider: 'azure-openai', model: 'gpt-4.1' });
      const routed = await post('/v1/chat/completions', request);
      expect(routed.headers.get('x-orchestrator-provider')).toBe('azure-openai');
    } finally {
      await gw.call('/api/ai-providers/failover', {
        method: 'POST',
        key: ADMIN_KEY,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ provider: 'openai', model: 'gpt-4.1', state: 'up' }),
      });
    }
  });

  it('serves /v1/smart/completions with the model left out', async () => {
    const { model: _model, ...withoutModel } = auto(SIMPLE);
    const response = await post('/v1/smart/completions', withoutModel);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-tier')).toBe('fast');
    // Metered like chat completions: one usage record.
    expect(await recordOf(response.headers.get('x-request-id'))).toMatchObject({ route: '/v1/smart/completions', tier: 'fast' });
  });
});
