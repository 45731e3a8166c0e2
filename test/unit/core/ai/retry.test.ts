import { classifyStatus, isRetryable, parseRetryAfter, retryDelayMs } from '../../../../lambdas/core/ai/retry';
import type { RetryPolicy } from '../../../../lambdas/core/ai/route-table';

const policy: RetryPolicy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

describe('classifyStatus / isRetryable', () => {
  it.each([408, 409, 429, 500, 502, 503, 504])('retries HTTP %i', (status) => {
    expect(isRetryable({ errorClass: classifyStatus(status), status })).toBe(true);
  });

  it.each([400, 422])('does not retry HTTP %i', (status) => {
    expect(isRetryable({ errorClass: classifyStatus(status), status })).toBe(false);
  });

  it.each([401, 403, 404])(
    "falls back on HTTP %i: the provider refused the gateway's credentials, or lacks the target's model",
    (status) => {
      expect(isRetryable({ errorClass: classifyStatus(status), status })).toBe(true);
    },
  );

  it('passes back a 404 about what the caller sent (a parameter other than the model), and falls back on one about the model', () => {
    expect(isRetryable({ errorClass: classifyStatus(404, null, 'input'), status: 404 })).toBe(false);
    expect(isRetryable({ errorClass: classifyStatus(404, 'model_not_found', 'model'), status: 404 })).toBe(true);
    expect(isRetryable({ errorClass: classifyStatus(404, 'DeploymentNotFound', null), status: 404 })).toBe(true);
  });

  it('treats a content filter refusal as final even on a retryable status', () => {
    expect(classifyStatus(400, 'content_filter')).toBe('content_filter');
    expect(isRetryable({ errorClass: classifyStatus(500, 'content_filter') })).toBe(false);
  });

  it.each(['timeout', 'connection_refused', 'connection_reset', 'stream_error'] as const)('retries %s', (errorClass) => {
    expect(isRetryable({ errorClass })).toBe(true);
  });
});

describe('retryDelayMs', () => {
  it('uses full jitter over an exponentially growing ceiling', () => {
    expect(retryDelayMs(policy, 1, () => 0.5)).toBe(50);
    expect(retryDelayMs(policy, 2, () => 0.5)).toBe(100);
    expect(retryDelayMs(policy, 3, () => 0.999)).toBe(399);
    expect(retryDelayMs(policy, 1, () => 0)).toBe(0);
  });

  it('never exceeds maxDelayMs', () => {
    expect(retryDelayMs(policy, 20, () => 0.999)).toBe(999);
  });

  it("honours the upstream's retry-after, capped", () => {
    expect(retryDelayMs(policy, 1, () => 0.5, 1200)).toBe(1200);
    expect(retryDelayMs(policy, 1, () => 0.5, 60_000)).toBe(5000);
  });
});

describe('parseRetryAfter', () => {
  const headers = (h: Record<string, string>) => (name: string) => h[name];
  const now = Date.UTC(2026, 10, 22, 12, 0, 0);

  it('prefers retry-after-ms', () => {
    expect(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
  });

  it('reads retry-after in seconds or as an HTTP date', () => {
    expect(parseRetryAfter(headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(headers({ 'retry-after': new Date(now + 3000).toUTCString() }), now)).toBe(3000);
  });

  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(headers({}), now)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
  });
});
