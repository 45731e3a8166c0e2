/** What `GET /api/ai-providers/health` and `/quotas` report per target, from its breaker state and the fleet's counters. */
import type { ProviderLimits } from '../ai/provider-limits';
import { targetKey, type PlannedTarget } from '../ai/route-table';
import { circuitState, type CircuitState } from './breaker';
import type { TargetState, TargetStats } from './ports';
import { histogramPercentile, SLOT_MS, windowTotals } from './stats';

export type HealthStatus = 'healthy' | 'degraded' | 'down' | 'maintenance';

export interface TargetHealthView {
  target: string;
  provider: string;
  model: string;
  deployment: string;
  status: HealthStatus;
  /** Recent p50 (the last minute), ms; null without answers. */
  responseTime: number | null;
  timeToFirstTokenMs: number | null;
  errorRate: number | null;
  successRate: number | null;
  lastChecked: string | null;
  consecutiveFailures: number;
  circuitState: CircuitState;
  nextProbeAt: string | null;
  reason: string | null;
  /** Manual failover in force (who set it only for admins). */
  manual: { state: 'down' | 'maintenance'; until: string; by?: string; reason: string } | null;
  coolingUntil: string | null;
}

/** A degraded target fails this share of its calls, or more. */
const DEGRADED_ERROR_RATE = 0.1;
const iso = (ms: number) => new Date(ms).toISOString();

export function healthView(
  target: PlannedTarget,
  state: TargetState | undefined,
  stats: TargetStats | undefined,
  now: number,
  options: { showWho?: boolean } = {},
): TargetHealthView {
  // Since the breaker last closed: a target put back in rotation starts with a clean record.
  const recent = windowTotals(stats, now, 60_000 + SLOT_MS, state?.closedAt ?? 0);
  const calls = recent.successes + recent.failures;
  const errorRate = calls > 0 ? Number((recent.failures / calls).toFixed(4)) : null;
  const circuit = circuitState(state, now);
  const manual = state?.manual && state.manual.until > now ? state.manual : undefined;
  const cooling = state?.coolingUntil !== undefined && state.coolingUntil > now ? state.coolingUntil : undefined;
  const status: HealthStatus = manual
    ? manual.state
    : circuit !== 'closed'
      ? 'down'
      : cooling !== undefined || (errorRate ?? 0) >= DEGRADED_ERROR_RATE
        ? 'degraded'
        : 'healthy';
  const nextProbe = circuit === 'open' ? state!.openUntil : circuit === 'half-open' ? Math.max(now, state!.probe?.until ?? now) : undefined;
  return {
    target: targetKey(target),
    provider: target.provider,
    model: target.model,
    deployment: target.upstreamModel,
    status,
    responseTime: histogramPercentile(recent.latency, 50),
    timeToFirstTokenMs: histogramPercentile(recent.firstEvent, 50),
    errorRate,
    successRate: errorRate === null ? null : Number((1 - errorRate).toFixed(4)),
    lastChecked: stats?.lastAt ? iso(stats.lastAt) : null,
    consecutiveFailures: stats?.consecutiveFailures ?? 0,
    circuitState: circuit,
    nextProbeAt: nextProbe === undefined ? null : iso(nextProbe),
    reason: state && state.v > 0 ? state.reason : null,
    manual: manual
      ? { state: manual.state, until: iso(manual.until), ...(options.showWho ? { by: manual.by } : {}), reason: manual.reason }
      : null,
    coolingUntil: cooling === undefined ? null : iso(cooling),
  };
}

export interface TargetQuotaView {
  target: string;
  provider: string;
  model: string;
  /** The provider's own limits as its last response reported them (null when it reported none). */
  providerLimits: {
    requests: { limit: number | null; remaining: number | null; resetAt: string | null } | null;
    tokens: { limit: number | null; remaining: number | null; resetAt: string | null } | null;
    reportedAt: string;
  } | null;
  nearLimit: boolean;
  /** The fleet's own use of the target over the last minute. */
  requestsPerMinute: number;
  tokensPerMinute: number;
}

export function quotaView(
  target: PlannedTarget,
  stats: TargetStats | undefined,
  limits: ProviderLimits | undefined,
  near: boolean,
  now: number,
): TargetQuotaView {
  const minute = windowTotals(stats, now, 60_000);
  const reading = (r: ProviderLimits['requests']) =>
    r ? { limit: r.limit ?? null, remaining: r.remaining ?? null, resetAt: r.resetAt === undefined ? null : iso(r.resetAt) } : null;
  return {
    target: targetKey(target),
    provider: target.provider,
    model: target.model,
    providerLimits: limits ? { requests: reading(limits.requests), tokens: reading(limits.tokens), reportedAt: iso(limits.at) } : null,
    nearLimit: near,
    requestsPerMinute: minute.successes + minute.failures,
    tokensPerMinute: minute.tokens,
  };
}
