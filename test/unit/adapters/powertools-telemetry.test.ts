import { Logger } from '@aws-lambda-powertools/logger';
import { createMetrics, PowertoolsTelemetry } from '../../../lambdas/adapters/telemetry/powertools-telemetry';
import type { RequestSummary } from '../../../lambdas/core/request-summary';
import type { UsageRecord } from '../../../lambdas/core/metering/usage-record';
import { usageRecord } from '../../helpers/usage-records';

const summary: RequestSummary = {
  requestId: 'req_1',
  method: 'POST',
  path: '/v1/chat/completions',
  status: 200,
  latencyMs: 120,
  userId: 'u_1',
  keyId: 'key_1',
  ai: {
    taskType: 'content_planning',
    taskSource: 'header',
    requestedModel: 'gpt-4o',
    stream: false,
    candidates: [
      { provider: 'azure-openai', model: 'gpt-4o', modelSource: 'requested' },
      { provider: 'openai', model: 'gpt-4o', modelSource: 'requested' },
    ],
    chosen: { provider: 'openai', model: 'gpt-4o', reason: 'fallback #1 after azure-openai failed with server_error (503)' },
    attempts: [
      {
        provider: 'azure-openai',
        model: 'gpt-4o',
        attempt: 1,
        outcome: 'fallback',
        status: 503,
        errorClass: 'server_error',
        latencyMs: 30,
      },
      { provider: 'openai', model: 'gpt-4o', attempt: 1, outcome: 'success', status: 200, errorClass: null, latencyMs: 80 },
    ],
    fallback: true,
    retries: 0,
    outcome: 'ok',
    errorClass: null,
    usage: { promptTokens: 10, completionTokens: 20, totalTokens: 30 },
  },
};

function capture(run: () => void): string[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

describe('PowertoolsTelemetry', () => {
  it('writes one JSON log line per request with the routing story', () => {
    const telemetry = new PowertoolsTelemetry(new Logger({ serviceName: 'svc', logLevel: 'INFO' }), undefined);
    const lines = capture(() => telemetry.record(summary));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 'INFO', message: 'request', service: 'svc', requestId: 'req_1', userId: 'u_1', status: 200 });
    expect(line.timestamp).toEqual(expect.any(String));
    expect(line.ai.attempts).toHaveLength(2);
    expect(line.ai.chosen.reason).toContain('fallback');
    expect(line.ai.usage).toEqual({ promptTokens: 10, completionTokens: 20, totalTokens: 30 });
  });

  it('emits EMF with provider and task type as the only dimensions', () => {
    const telemetry = new PowertoolsTelemetry(new Logger({ logLevel: 'SILENT' }), createMetrics('HybridOrchestrator', 'svc'));
    const blobs = capture(() => telemetry.record(summary))
      .map((l) => JSON.parse(l))
      .filter((b) => b._aws);
    expect(blobs).toHaveLength(4); // the request, the service-wide count, then one per attempt
    const [request, total, azureAttempt] = blobs;
    expect(total._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
    expect(total).toMatchObject({ service: 'hybrid-orchestrator', Requests: 1, Errors: 0, Fallbacks: 1, ResponseLatency: 120 });
    expect(request._aws.CloudWatchMetrics[0].Namespace).toBe('HybridOrchestrator');
    expect(request._aws.CloudWatchMetrics[0].Dimensions).toEqual([['provider', 'taskType']]);
    expect(request).toMatchObject({
      provider: 'openai',
      taskType: 'content_planning',
      Requests: 1,
      Errors: 0,
      Fallbacks: 1,
      Retries: 0,
      Latency: 120,
    });
    expect(request._aws.CloudWatchMetrics[0].Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'Requests', Unit: 'Count' },
        { Name: 'Latency', Unit: 'Milliseconds' },
      ]),
    );
    expect(azureAttempt).toMatchObject({ provider: 'azure-openai', ProviderLatency: 30, ProviderErrors: 1 });
    expect(JSON.stringify(blobs)).not.toContain('u_1');
  });

  it('counts a hedge’s cancelled loser neither as a provider error nor in its latency', () => {
    const telemetry = new PowertoolsTelemetry(new Logger({ logLevel: 'SILENT' }), createMetrics('HybridOrchestrator', 'svc'));
    const hedged: RequestSummary = {
      ...summary,
      ai: {
        ...summary.ai!,
        attempts: [
          { provider: 'openai', model: 'gpt-4o', attempt: 1, outcome: 'hedge_lost', status: null, errorClass: null, latencyMs: 900 },
          {
            provider: 'azure-openai',
            model: 'gpt-4o',
            attempt: 1,
            outcome: 'success',
            status: 200,
            errorClass: null,
            latencyMs: 400,
            hedge: true,
          },
        ],
      },
    };
    const perAttempt = capture(() => telemetry.record(hedged))
      .map((l) => JSON.parse(l))
      .filter((b) => b._aws && 'ProviderErrors' in b);
    expect(perAttempt.map((b) => [b.provider, b.ProviderErrors])).toEqual([['azure-openai', 0]]);
  });

  it('counts refusals per policy and window, quota refusals, and limiter errors, never per user', () => {
    const telemetry = new PowertoolsTelemetry(new Logger({ logLevel: 'SILENT' }), createMetrics('HybridOrchestrator', 'svc'));
    const base = { requestId: 'req_2', method: 'POST', path: '/api/onlyfans/messages', status: 429, latencyMs: 3, userId: 'u_9' };
    const emf = (s: RequestSummary) =>
      capture(() => telemetry.record(s))
        .map((l) => JSON.parse(l))
        .filter((b) => b._aws);
    const limited = emf({
      ...base,
      rateLimit: {
        policy: 'onlyfans_messaging',
        outcome: 'rate_limited',
        blocking: [
          { counter: 'requests', window: 'minute' },
          { counter: 'requests', window: 'day' },
        ],
      },
    });
    expect(limited).toHaveLength(2);
    expect(limited[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['policy', 'window']]);
    expect(limited.map((b) => [b.policy, b.window, b.RateLimited])).toEqual([
      ['onlyfans_messaging', 'minute', 1],
      ['onlyfans_messaging', 'day', 1],
    ]);
    const quota = emf({
      ...base,
      path: '/v1/chat/completions',
      rateLimit: { policy: 'ai_requests', outcome: 'quota_exceeded', blocking: [{ counter: 'tokens', window: 'month' }] },
    });
    expect(quota).toEqual([expect.objectContaining({ window: 'month', QuotaExceeded: 1 })]);
    const failed = emf({ ...base, status: 503, rateLimit: { policy: 'ai_requests', outcome: 'limiter_unavailable' } });
    expect(failed).toEqual([expect.objectContaining({ policy: 'ai_requests', RateLimiterErrors: 1 })]);
    expect(failed[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['policy']]);
    expect(emf({ ...base, status: 202, rateLimit: { policy: 'onlyfans_messaging', outcome: 'admitted' } })).toEqual([]);
    expect(JSON.stringify([limited, quota, failed])).not.toContain('u_9');
  });

  it('emits tokens and cost per provider and model, and counts unpriced requests instead of a $0 cost', () => {
    const telemetry = new PowertoolsTelemetry(new Logger({ logLevel: 'SILENT' }), createMetrics('HybridOrchestrator', 'svc'));
    const record = usageRecord({
      requestId: 'req_3',
      userId: 'u_7',
      keyId: 'k',
      inputTokens: 120,
      outputTokens: 48,
      cachedTokens: 20,
      costMicros: 47,
      priceVersion: 'v',
      latencyMs: 300,
      createdAt: '2026-11-23T10:00:00.000Z',
    });
    const emf = (r: UsageRecord) =>
      capture(() => telemetry.usage(r))
        .map((l) => JSON.parse(l))
        .filter((b) => b._aws);
    const [priced, spend] = emf(record);
    expect(spend).toMatchObject({ service: 'hybrid-orchestrator', CostUSD: 0.000047 });
    expect(priced._aws.CloudWatchMetrics[0].Dimensions).toEqual([['provider', 'model']]);
    expect(priced).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini',
      InputTokens: 120,
      OutputTokens: 48,
      CachedTokens: 20,
      CostUSD: 0.000047,
    });
    const [unpriced] = emf({ ...record, costMicros: null });
    expect(unpriced).toMatchObject({ UnpricedRequests: 1 });
    expect(unpriced.CostUSD).toBeUndefined();
    expect(JSON.stringify([priced, unpriced])).not.toContain('u_7');
  });
});
