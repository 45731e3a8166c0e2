/**
 * Rate-limit policies and plan token quotas as validated data. Defaults below; a deployment
 * overrides any part with `RATE_LIMIT_POLICIES` (a JSON document deep-merged onto the defaults,
 * `null` meaning unlimited), and per plan under `plans`.
 */
import * as z from 'zod';
import { ConfigError, formatIssues } from '../errors';
import { PLANS, type Plan } from '../access/ports';

export const POLICY_NAMES = ['onlyfans_messaging', 'ai_requests'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];
export const REQUEST_WINDOWS = ['minute', 'hour', 'day'] as const;
export type RequestWindow = (typeof REQUEST_WINDOWS)[number];
export const QUOTA_WINDOWS = ['day', 'month'] as const;
export type QuotaWindow = (typeof QUOTA_WINDOWS)[number];

/** A limit: a whole number (0 refuses everything) or `null` for no limit. */
const Limit = z.number().int().min(0).max(1e12).nullable();

const WindowLimitsSchema = z.strictObject({ minute: Limit, hour: Limit, day: Limit });

/**
 * How a policy counts: `sliding` holds its limits in any minute, hour and day (an exact log for
 * limits up to `LOG_SLOTS_MAX`, buckets beyond); `fixed` counts per calendar window in UTC, which is
 * cheaper under contention but admits up to twice a limit across a window boundary.
 */
export const ALGORITHMS = ['sliding', 'fixed'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];
const PolicySchema = WindowLimitsSchema.extend({ algorithm: z.enum(ALGORITHMS) });
const QuotaSchema = z.strictObject({ day: Limit, month: Limit });
const PlanOverrideSchema = z.strictObject({
  onlyfans_messaging: WindowLimitsSchema.partial().optional(),
  ai_requests: WindowLimitsSchema.partial().optional(),
});

export const RateLimitPoliciesSchema = z.strictObject({
  onlyfans_messaging: PolicySchema,
  ai_requests: PolicySchema,
  /** Input + output tokens per user, by plan. */
  quotas: z.strictObject({ free: QuotaSchema, pro: QuotaSchema, enterprise: QuotaSchema }),
  /** Per-plan overrides of the request policies. */
  plans: z.partialRecord(z.enum(PLANS), PlanOverrideSchema).default({}),
  /**
   * Output tokens reserved against the quota when a request is admitted, before its real size is
   * known; settled to the real `usage` afterwards. Bounds how far a burst can overshoot a quota.
   */
  outputReservationTokens: z.number().int().min(0).max(1_000_000).default(1024),
});
export type RateLimitPolicies = z.infer<typeof RateLimitPoliciesSchema>;
export type WindowLimits = z.infer<typeof WindowLimitsSchema>;
export type TokenQuota = z.infer<typeof QuotaSchema>;

export const DEFAULT_POLICIES: RateLimitPolicies = {
  // A creator's OnlyFans account must never see more than its limit in any minute, hour or day.
  onlyfans_messaging: { minute: 10, hour: 300, day: 2000, algorithm: 'sliding' },
  // Protects the gateway and the providers' budgets: calendar windows are good enough, and cheaper.
  ai_requests: { minute: 100, hour: 3000, day: 30_000, algorithm: 'fixed' },
  quotas: {
    free: { day: 10_000, month: 200_000 },
    pro: { day: 1_000_000, month: 20_000_000 },
    enterprise: { day: null, month: null },
  },
  plans: {},
  outputReservationTokens: 1024,
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: unknown, override: unknown): unknown {
  if (!isObject(base) || !isObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = key in base ? deepMerge(base[key], value) : value;
  return out;
}

/** Validates an override document merged onto the defaults; throws with the offending path. */
export function parsePolicies(override: unknown, source = 'RATE_LIMIT_POLICIES'): RateLimitPolicies {
  const parsed = RateLimitPoliciesSchema.safeParse(deepMerge(DEFAULT_POLICIES, override ?? {}));
  if (!parsed.success) {
    throw new ConfigError(`${source}: invalid rate-limit policies: ${formatIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** The request limits of `policy` for a user on `plan`. */
export function limitsFor(policies: RateLimitPolicies, policy: PolicyName, plan: Plan): WindowLimits {
  const { minute, hour, day } = policies[policy];
  return { minute, hour, day, ...policies.plans[plan]?.[policy] };
}

export function quotaFor(policies: RateLimitPolicies, plan: Plan): TokenQuota {
  return policies.quotas[plan];
}
