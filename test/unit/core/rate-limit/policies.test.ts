import { DEFAULT_POLICIES, limitsFor, parsePolicies, quotaFor } from '../../../../lambdas/core/rate-limit/policies';

describe('rate-limit policies', () => {
  it('defaults to the documented limits and quotas', () => {
    const policies = parsePolicies(undefined);
    expect(policies).toEqual(DEFAULT_POLICIES);
    expect(limitsFor(policies, 'onlyfans_messaging', 'free')).toEqual({ minute: 10, hour: 300, day: 2000 });
    expect(limitsFor(policies, 'ai_requests', 'pro')).toEqual({ minute: 100, hour: 3000, day: 30_000 });
    expect(quotaFor(policies, 'free')).toEqual({ day: 10_000, month: 200_000 });
    expect(quotaFor(policies, 'pro')).toEqual({ day: 1_000_000, month: 20_000_000 });
    expect(quotaFor(policies, 'enterprise')).toEqual({ day: null, month: null });
  });

  it('merges a partial override onto the defaults, null meaning unlimited', () => {
    const policies = parsePolicies({
      ai_requests: { minute: 100_000 },
      quotas: { enterprise: { month: 5e8 } },
      onlyfans_messaging: { day: null },
    });
    expect(limitsFor(policies, 'ai_requests', 'free')).toEqual({ minute: 100_000, hour: 3000, day: 30_000 });
    expect(quotaFor(policies, 'enterprise')).toEqual({ day: null, month: 5e8 });
    expect(limitsFor(policies, 'onlyfans_messaging', 'free').day).toBeNull();
  });

  it('applies per-plan overrides to that plan only', () => {
    const policies = parsePolicies({ plans: { enterprise: { ai_requests: { minute: 1000 } } } });
    expect(limitsFor(policies, 'ai_requests', 'enterprise')).toEqual({ minute: 1000, hour: 3000, day: 30_000 });
    expect(limitsFor(policies, 'ai_requests', 'pro').minute).toBe(100);
  });

  it.each([
    [{ ai_requests: { minute: -1 } }, /ai_requests\.minute/],
    [{ ai_requests: { minute: 1.5 } }, /ai_requests\.minute/],
    [{ onlyfans_messaging: { week: 3 } }, /onlyfans_messaging/],
    [{ quotas: { free: { day: '10' } } }, /quotas\.free\.day/],
    [{ plans: { platinum: {} } }, /plans/],
    [{ unknown_policy: {} }, /unknown_policy|Unrecognized/],
  ])('rejects %j naming the bad setting', (override, message) => {
    expect(() => parsePolicies(override)).toThrow(message);
  });
});
