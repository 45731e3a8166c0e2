/** Which finished requests leave a usage record, and which call for a critical alert. */
import { criticalKind, isMetered } from '../../../../lambdas/core/metering/after-request';
import type { AttemptRecord } from '../../../../lambdas/core/ai/orchestrator';
import type { RequestSummary } from '../../../../lambdas/core/request-summary';

const attempt = (provider: string, errorClass: AttemptRecord['errorClass'], outcome: AttemptRecord['outcome']): AttemptRecord => ({
  provider,
  model: 'gpt-4o-mini',
  attempt: 1,
  outcome,
  status: errorClass === 'auth' ? 401 : 200,
  errorClass,
  latencyMs: 5,
});

const summary = (status: number, attempts: AttemptRecord[], extra: Partial<RequestSummary> = {}): RequestSummary => ({
  requestId: 'req_1',
  method: 'POST',
  path: '/v1/chat/completions',
  status,
  latencyMs: 10,
  userId: 'u_1',
  ai: {
    taskType: 'general',
    taskSource: 'default',
    requestedModel: 'gpt-4o-mini',
    stream: false,
    candidates: [],
    chosen: null,
    attempts,
    fallback: false,
    retries: 0,
    outcome: status >= 500 ? 'error' : 'ok',
    errorClass: null,
  },
  ...extra,
});

describe('criticalKind', () => {
  it("alerts on a provider refusing the gateway's credentials, even when another provider then answered", () => {
    expect(criticalKind(summary(200, [attempt('openai', 'auth', 'fallback'), attempt('azure-openai', null, 'success')]))).toBe(
      'provider_credentials',
    );
  });

  it('alerts when every provider failed, and not when one answered', () => {
    expect(
      criticalKind(summary(502, [attempt('openai', 'server_error', 'fallback'), attempt('azure-openai', 'server_error', 'failed')])),
    ).toBe('all_providers_failed');
    expect(
      criticalKind(summary(200, [attempt('openai', 'server_error', 'fallback'), attempt('azure-openai', null, 'success')])),
    ).toBeUndefined();
  });

  it('alerts on an unexpected exception and a store outage', () => {
    expect(criticalKind(summary(500, []))).toBe('unexpected_exception');
    expect(criticalKind({ ...summary(503, []), ai: undefined, errorCode: 'dependency_unavailable' } as RequestSummary)).toBe(
      'store_unavailable',
    );
  });
});

describe('isMetered', () => {
  it('meters authenticated POSTs to AI and messaging routes only', () => {
    expect(isMetered(summary(200, []))).toBe(true);
    expect(isMetered(summary(200, [], { userId: undefined }))).toBe(false);
    expect(isMetered(summary(200, [], { path: '/v1/models', method: 'GET' }))).toBe(false);
  });

  it('with AI metering off, meters OnlyFans messages only', () => {
    for (const path of ['/v1/chat/completions', '/v1/embeddings', '/v1/responses', '/v1/smart/completions', '/api/ai/content/plan'])
      expect([path, isMetered(summary(200, [], { path }), false)]).toEqual([path, false]);
    expect(isMetered(summary(202, [], { path: '/api/onlyfans/messages' }), false)).toBe(true);
    expect(isMetered(summary(429, [], { path: '/api/onlyfans/messages' }), false)).toBe(true);
    expect(isMetered(summary(202, [], { path: '/api/onlyfans/messages', userId: undefined }), false)).toBe(false);
  });
});
