/**
 * Contract tests of the legacy Huntaze AI endpoints (docs/legacy-api.md), run against
 * both processing paths: every field, type and status, errors included, must be the same.
 */
import { FlagsFile } from '../helpers/flags';
import { startTestGateway, type TestGateway } from '../helpers/local-gateway';

const generateBody = {
  creatorId: 'c_123',
  fanId: 'f_456',
  fanName: 'Sam',
  conversation: [{ from: 'fan', text: 'hey, how was your day?' }],
  tone: 'friendly',
  maxLength: 280,
  instructions: 'mention the new photo set',
};
const planBody = { creatorId: 'c_123', platforms: ['onlyfans', 'instagram'], goals: 'grow subscribers', periodDays: 7, postsPerDay: 2 };

describe.each(['orchestrated', 'legacy'] as const)('legacy endpoints on the %s path', (path) => {
  let gw: TestGateway;
  const flags = new FlagsFile({ enabled: path === 'orchestrated', rollout_percentage: 100 });
  beforeAll(async () => {
    gw = await startTestGateway({ env: { FLAGS_FILE: flags.path } });
  });
  afterAll(() => gw.close());
  afterEach(() => {
    gw.sims.openai!.setFault(undefined);
    gw.sims['azure-openai']!.setFault(undefined);
  });

  const post = (route: string, body: unknown, key?: string | null) =>
    gw.call(route, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), ...(key !== undefined ? { key } : {}) });
  const quotaUsed = async () => (await (await gw.call('/api/rate-limits/status')).json()).quota.tokens.day.used as number;

  it('POST /api/ai/messages/generate answers every contract field with the provider’s real usage', async () => {
    const before = await quotaUsed();
    const response = await post('/api/ai/messages/generate', { ...generateBody, somethingNew: 'ignored' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(response.headers.get('x-orchestrator-path')).toBe(path);
    const body = await response.json();
    expect(Object.keys(body).sort()).toEqual(['message', 'model', 'requestId', 'usage']);
    expect(body).toEqual({
      message: expect.any(String),
      model: 'gpt-4o-mini',
      requestId: response.headers.get('x-request-id'),
      usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number), totalTokens: expect.any(Number) },
    });
    expect(body.requestId).toMatch(/^req_/);
    expect(body.message.length).toBeGreaterThan(0);
    expect(Array.from(body.message).length).toBeLessThanOrEqual(280);
    expect(body.usage.totalTokens).toBe(body.usage.promptTokens + body.usage.completionTokens);
    expect(body.usage.promptTokens).toBeGreaterThan(0);
    // The counts are the provider's: exactly what the quota was charged.
    expect((await quotaUsed()) - before).toBe(body.usage.totalTokens);
    // The prompt was built from the fields: the conversation is a turn, the fan's name and tone are in the instructions.
    const sent = gw.sims.openai!.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages[0]!.content).toContain('Sam');
    expect(sent.messages[0]!.content).toContain('friendly');
    expect(sent.messages).toContainEqual({ role: 'user', content: 'hey, how was your day?' });
  });

  it('cuts the message to maxLength characters', async () => {
    const body = await (await post('/api/ai/messages/generate', { creatorId: 'c', fanId: 'f', maxLength: 12 })).json();
    expect(Array.from(body.message as string).length).toBeLessThanOrEqual(12);
  });

  it('POST /api/ai/content/plan answers every contract field, defaults applied', async () => {
    const response = await post('/api/ai/content/plan', { creatorId: 'c_123', platforms: ['tiktok'], goals: 'grow subscribers' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-path')).toBe(path);
    const body = await response.json();
    expect(Object.keys(body).sort()).toEqual(['model', 'periodDays', 'plan', 'platforms', 'requestId', 'usage']);
    expect(body).toEqual({
      plan: expect.any(String),
      platforms: ['tiktok'],
      periodDays: 7,
      model: path === 'orchestrated' ? 'gpt-4o' : 'gpt-4o-mini',
      requestId: response.headers.get('x-request-id'),
      usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number), totalTokens: expect.any(Number) },
    });
    // Orchestrated: content planning goes to Azure OpenAI first; legacy: the one configured provider.
    expect(response.headers.get('x-orchestrator-provider')).toBe(path === 'orchestrated' ? 'azure-openai' : 'openai');
    const full = await (await post('/api/ai/content/plan', planBody)).json();
    expect(full).toMatchObject({ platforms: ['onlyfans', 'instagram'], periodDays: 7 });
  });

  it.each([
    ['/api/ai/messages/generate', { ...generateBody, creatorId: undefined }, 'creatorId'],
    ['/api/ai/messages/generate', { ...generateBody, creatorId: '' }, 'creatorId'],
    ['/api/ai/messages/generate', { ...generateBody, fanId: 'x'.repeat(129) }, 'fanId'],
    ['/api/ai/messages/generate', { ...generateBody, fanName: 'x'.repeat(129) }, 'fanName'],
    [
      '/api/ai/messages/generate',
      { ...generateBody, conversation: Array.from({ length: 51 }, () => ({ from: 'fan', text: 'hi' })) },
      'conversation',
    ],
    ['/api/ai/messages/generate', { ...generateBody, conversation: [{ from: 'agent', text: 'hi' }] }, 'conversation[0].from'],
    ['/api/ai/messages/generate', { ...generateBody, conversation: [{ from: 'fan', text: '' }] }, 'conversation[0].text'],
    ['/api/ai/messages/generate', { ...generateBody, conversation: [{ from: 'fan', text: 'x'.repeat(4001) }] }, 'conversation[0].text'],
    ['/api/ai/messages/generate', { ...generateBody, tone: 'angry' }, 'tone'],
    ['/api/ai/messages/generate', { ...generateBody, maxLength: 0 }, 'maxLength'],
    ['/api/ai/messages/generate', { ...generateBody, maxLength: 2001 }, 'maxLength'],
    ['/api/ai/messages/generate', { ...generateBody, maxLength: 12.5 }, 'maxLength'],
    ['/api/ai/messages/generate', { ...generateBody, instructions: 'x'.repeat(2001) }, 'instructions'],
    ['/api/ai/content/plan', { ...planBody, creatorId: undefined }, 'creatorId'],
    ['/api/ai/content/plan', { ...planBody, platforms: [] }, 'platforms'],
    ['/api/ai/content/plan', { ...planBody, platforms: ['onlyfans', 'onlyfans'] }, 'platforms'],
    ['/api/ai/content/plan', { ...planBody, platforms: ['myspace'] }, 'platforms[0]'],
    ['/api/ai/content/plan', { ...planBody, platforms: ['onlyfans', 'instagram', 'tiktok', 'twitter', 'reddit', 'onlyfans'] }, 'platforms'],
    ['/api/ai/content/plan', { ...planBody, goals: '' }, 'goals'],
    ['/api/ai/content/plan', { ...planBody, goals: 'x'.repeat(4001) }, 'goals'],
    ['/api/ai/content/plan', { ...planBody, periodDays: 32 }, 'periodDays'],
    ['/api/ai/content/plan', { ...planBody, postsPerDay: 11 }, 'postsPerDay'],
  ])('%s rejects a bad field (%#) with 400 BAD_REQUEST naming it', async (route, body, field) => {
    const calls = gw.sims.openai!.calls + gw.sims['azure-openai']!.calls;
    const response = await post(route, body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String), field } });
    expect(gw.sims.openai!.calls + gw.sims['azure-openai']!.calls).toBe(calls);
  });

  it('rejects malformed JSON with 400 BAD_REQUEST', async () => {
    const response = await post('/api/ai/messages/generate', '{"creatorId":');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
  });

  it.each([
    [null, 'missing'],
    ['sk-not-a-key', 'unknown'],
  ] as Array<[string | null, string]>)('answers 401 UNAUTHORIZED for a %s key (%s)', async (key) => {
    const response = await post('/api/ai/content/plan', planBody, key);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
  });

  it('answers 405 on a wrong method, in the legacy shape', async () => {
    const response = await gw.call('/api/ai/content/plan');
    expect(response.status).toBe(405);
    expect((await response.json()).error.code).toBe('BAD_REQUEST');
  });

  it('maps a provider failure to 502 UPSTREAM_ERROR', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 500 });
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 500 });
    for (const [route, body] of [
      ['/api/ai/messages/generate', generateBody],
      ['/api/ai/content/plan', planBody],
    ] as const) {
      const response = await post(route, body);
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({ error: { code: 'UPSTREAM_ERROR', message: expect.stringContaining('server_error') } });
    }
  });

  it(
    path === 'orchestrated' ? 'falls back to Azure OpenAI when OpenAI fails' : 'calls only the configured provider, once, with no fallback',
    async () => {
      gw.sims.openai!.setFault({ kind: 'status', status: 503 });
      const azureBefore = gw.sims['azure-openai']!.calls;
      const openaiBefore = gw.sims.openai!.calls;
      const response = await post('/api/ai/messages/generate', generateBody);
      if (path === 'orchestrated') {
        expect(response.status).toBe(200);
        expect(response.headers.get('x-orchestrator-fallback')).toBe('true');
        expect(gw.sims['azure-openai']!.calls).toBe(azureBefore + 1);
      } else {
        expect(response.status).toBe(502);
        expect(gw.sims.openai!.calls).toBe(openaiBefore + 1);
        expect(gw.sims['azure-openai']!.calls).toBe(azureBefore);
      }
    },
  );

  it('takes the same path on /v1/chat/completions', async () => {
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'x-task-type': 'content_planning' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'plan' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-path')).toBe(path);
    expect(response.headers.get('x-orchestrator-provider')).toBe(path === 'orchestrated' ? 'azure-openai' : 'openai');
  });
});
