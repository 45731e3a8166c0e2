/**
 * DynamoDB unreachable: messaging fails closed (503 UNAVAILABLE, nothing forwarded), AI requests
 * follow RATE_LIMIT_FAIL_MODE, and the limiter failure is logged and counted either way.
 */
import { startDynalite, type LocalDynamo } from '../../lambdas/local/dynamodb-local';
import type { RequestSummary } from '../../lambdas/core/request-summary';
import { CapturingAlerts } from '../helpers/fakes';
import { chatBody, startTestGateway, type TestGateway } from '../helpers/local-gateway';

describe('when DynamoDB is down', () => {
  let dynamo: LocalDynamo;
  let closed: TestGateway;
  let open: TestGateway;
  const summaries: RequestSummary[] = [];
  const alerts = new CapturingAlerts();
  const errors: Array<{ message: string; context: Record<string, unknown> }> = [];
  const telemetry = {
    record: (s: RequestSummary) => void summaries.push(s),
    error: (message: string, context: Record<string, unknown>) => void errors.push({ message, context }),
    info: () => undefined,
    count: () => undefined,
    metric: () => undefined,
    usage: () => undefined,
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
    const env = { DYNAMODB_ENDPOINT: dynamo.endpoint, DYNAMODB_TIMEOUT_MS: '300', API_KEY_CACHE_TTL_SECONDS: '60' };
    closed = await startTestGateway({ env, overrides: { telemetry, alerts } });
    open = await startTestGateway({ env: { ...env, RATE_LIMIT_FAIL_MODE: 'open' } });
    // Authenticate once while the table is up, so the keys are cached and the limiter is what fails.
    expect((await closed.call('/v1/models')).status).toBe(200);
    expect((await open.call('/v1/models')).status).toBe(200);
    await dynamo.close();
  });
  afterAll(async () => {
    await closed.close();
    await open.close();
  });

  it('refuses OnlyFans messages with 503 UNAVAILABLE and Retry-After, and forwards nothing', async () => {
    const response = await closed.call('/api/onlyfans/messages', {
      method: 'POST',
      body: JSON.stringify({ creatorId: 'c', fanId: 'f', text: 'hi' }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({
      error: { code: 'UNAVAILABLE', message: expect.stringContaining('Rate limiting is temporarily unavailable'), retryAfterSeconds: 1 },
    });
    expect(closed.onlyfans!.received).toHaveLength(0);
    expect(errors.some((e) => e.message === 'rate limiter unavailable' && e.context['policy'] === 'onlyfans_messaging')).toBe(true);
    expect(summaries.at(-1)!.rateLimit).toEqual({ policy: 'onlyfans_messaging', outcome: 'limiter_unavailable' });
  });

  it('fails AI requests closed by default', async () => {
    const before = closed.sims.openai!.calls;
    const response = await closed.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'rate_limiter_unavailable', type: 'service_unavailable' } });
    expect(closed.sims.openai!.calls).toBe(before);
    expect(summaries.at(-1)!.rateLimit).toEqual({ policy: 'ai_requests', outcome: 'limiter_unavailable' });
  });

  it('raises one critical alert per kind even though the alert markers live in the failed store', async () => {
    for (let i = 0; i < 3; i += 1)
      await closed.call('/api/onlyfans/messages', { method: 'POST', body: JSON.stringify({ creatorId: 'c', fanId: 'f', text: 'hi' }) });
    await closed.gateway.background.drain();
    const limiter = alerts.sent.filter((a) => a.kind === 'critical' && a.subject.includes('limiter unavailable'));
    expect(limiter).toHaveLength(1);
    expect(limiter[0]!.context).toMatchObject({ path: '/api/onlyfans/messages', status: 503, limiter: 'limiter_unavailable' });
  });

  it('lets AI requests through uncounted with RATE_LIMIT_FAIL_MODE=open, but never messages', async () => {
    const ai = await open.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
    expect(ai.status).toBe(200);
    expect(ai.headers.get('x-ratelimit-limit-requests')).toBeNull();
    const message = await open.call('/api/onlyfans/messages', {
      method: 'POST',
      body: JSON.stringify({ creatorId: 'c', fanId: 'f', text: 'hi' }),
    });
    expect(message.status).toBe(503);
    expect(open.onlyfans!.received).toHaveLength(0);
  });
});
