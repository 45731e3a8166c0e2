/**
 * One usage record per AI request, failures included: who, which task and path, which provider and
 * model, tokens (reported by the provider or estimated), exact cost in micro-dollars (or unpriced),
 * latency, outcome. Built from the request's summary, so the log line and the record never disagree.
 */
import { costMicros, priceOf, type PriceTable } from './pricing';
import type { ProviderId, TaskType } from '../ai/route-table';
import type { RequestSummary } from '../request-summary';

export interface UsageRecord {
  /** The gateway's own id of the request: the record's key, unique to it. */
  requestId: string;
  /** The caller's `x-request-id`, when it sent one (callers may reuse theirs: never a key). */
  callerRequestId?: string;
  userId: string | null;
  keyId: string | null;
  route: string;
  taskType: TaskType | null;
  path: 'orchestrated' | 'legacy' | null;
  provider: ProviderId | null;
  model: string | null;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  /** Prompt tokens written to the provider's prompt cache (Bedrock), when there were any. */
  cacheWriteTokens?: number;
  /** Integer micro-dollars; `null` when the model has no price (never a silent 0). */
  costMicros: number | null;
  priceVersion: string;
  latencyMs: number;
  timeToFirstTokenMs: number | null;
  status: number;
  errorClass: string | null;
  fallback: boolean;
  attempts: number;
  stream: boolean;
  /** `provider`: the provider's `usage`; `estimated`: counted by the gateway's tokenizer; `none`: no tokens. */
  tokensSource: 'provider' | 'estimated' | 'none';
  /** Every target the request called: how often, and how many of those calls failed. */
  tried?: Array<{ provider: ProviderId; model: string; calls: number; failures: number }>;
  /** A hedge ran and lost: its target and the prompt tokens it was sent (estimated; their cost is in `costMicros`). */
  hedge?: { provider: ProviderId; model: string; inputTokens: number };
  /** The normalised request's hash (first 32 hex digits of the cache key): repeated requests share it. */
  requestHash?: string;
  /** The output cap the request asked for (`max_tokens` / `max_completion_tokens`). */
  maxTokens?: number;
  /** The prompt's complexity (every orchestrated request), and the tier smart routing chose. */
  complexity?: 'simple' | 'medium' | 'complex';
  tier?: 'fast' | 'balanced' | 'quality';
  /** Smart routing: what these tokens would have cost on the task's quality tier (its first target), so savings are computed. */
  qualityCostMicros?: number | null;
  /** What the response cache did (absent when it did not apply). A hit has 0 tokens and cost 0. */
  cache?: 'hit' | 'miss' | 'bypass' | 'refresh';
  /** A hit: what its stored answer would cost now, at today's prices (null when the model has no price). */
  savedCostMicros?: number | null;
  /** The token settlement the quota still has to take (see `RequestSummary.quota`): applied by the batched consumer. */
  quota?: { day: number; month: number; deltaTokens: number };
  createdAt: string;
  /** UTC day and hour of `createdAt` (`2026-11-23`, `13`), the aggregates' keys. */
  day: string;
  hour: string;
}

export function buildUsageRecord(summary: RequestSummary, at: number, prices: PriceTable): UsageRecord {
  const ai = summary.ai;
  const provider = ai?.chosen?.provider ?? null;
  const model = ai?.chosen?.model ?? null;
  const usage = ai?.usage;
  const tokens = {
    inputTokens: usage?.promptTokens ?? 0,
    outputTokens: usage?.completionTokens ?? 0,
    cachedTokens: usage?.cachedTokens ?? 0,
    ...(usage?.cacheWriteTokens ? { cacheWriteTokens: usage.cacheWriteTokens } : {}),
  };
  const price = provider && model ? priceOf(prices, provider, model) : undefined;
  const hasTokens = tokens.inputTokens + tokens.outputTokens > 0;
  const answerCost = !hasTokens ? 0 : price && usage ? costMicros(price, usage) : null;
  // The hedge that lost is billed for the prompt it was sent (no output: it was cancelled before its first event).
  const hedgePrice = ai?.hedge ? priceOf(prices, ai.hedge.provider, ai.hedge.model) : undefined;
  const hedgeCost = !ai?.hedge
    ? 0
    : hedgePrice
      ? costMicros(hedgePrice, { promptTokens: ai.hedge.inputTokens, completionTokens: 0 })
      : null;
  const cost = answerCost === null || hedgeCost === null ? null : answerCost + hedgeCost;
  const iso = new Date(at).toISOString();
  const cache = ai?.cache;
  const smart = ai?.smart;
  const qualityPrice = smart?.qualityTarget ? priceOf(prices, smart.qualityTarget.provider, smart.qualityTarget.model) : undefined;
  const qualityCost = !smart ? undefined : !hasTokens ? 0 : qualityPrice && usage ? costMicros(qualityPrice, usage) : null;
  const saved = cache?.status === 'HIT' && cache.savedUsage ? (price ? costMicros(price, cache.savedUsage) : null) : undefined;
  return {
    requestId: summary.requestId,
    ...(summary.callerRequestId ? { callerRequestId: summary.callerRequestId } : {}),
    userId: summary.userId ?? null,
    keyId: summary.keyId ?? null,
    route: summary.path,
    taskType: ai?.taskType ?? null,
    path: summary.rollout?.path ?? null,
    provider,
    model,
    ...tokens,
    costMicros: cost,
    priceVersion: prices.version,
    latencyMs: summary.latencyMs,
    timeToFirstTokenMs: ai?.timeToFirstTokenMs ?? null,
    status: summary.status,
    errorClass: ai?.errorClass ?? null,
    fallback: ai?.fallback ?? false,
    attempts: ai?.attempts.filter((a) => a.outcome !== 'skipped').length ?? 0,
    stream: ai?.stream ?? false,
    tokensSource: !hasTokens ? 'none' : ai?.usageSource === 'estimated' ? 'estimated' : 'provider',
    ...(ai?.hedge ? { hedge: ai.hedge } : {}),
    ...(ai?.requestHash ? { requestHash: ai.requestHash } : {}),
    ...(ai?.maxTokens ? { maxTokens: ai.maxTokens } : {}),
    ...(ai?.complexity ? { complexity: ai.complexity } : {}),
    ...(smart ? { tier: smart.tier, qualityCostMicros: qualityCost ?? null } : {}),
    ...(cache ? { cache: cache.status.toLowerCase() as NonNullable<UsageRecord['cache']> } : {}),
    ...(saved !== undefined ? { savedCostMicros: saved } : {}),
    ...(ai && ai.attempts.some((a) => a.outcome !== 'skipped') ? { tried: triedTargets(ai.attempts) } : {}),
    ...(summary.quota ? { quota: summary.quota } : {}),
    createdAt: iso,
    day: iso.slice(0, 10),
    hour: iso.slice(11, 13),
  };
}

/** Calls and failed calls per target, from a request's attempts (skipped targets were not called). */
function triedTargets(attempts: NonNullable<RequestSummary['ai']>['attempts']): NonNullable<UsageRecord['tried']> {
  const byTarget = new Map<string, { provider: ProviderId; model: string; calls: number; failures: number }>();
  for (const attempt of attempts) {
    if (attempt.outcome === 'skipped') continue;
    const key = `${attempt.provider}/${attempt.model}`;
    const entry = byTarget.get(key) ?? { provider: attempt.provider, model: attempt.model, calls: 0, failures: 0 };
    byTarget.set(key, entry);
    entry.calls += 1;
    if (attempt.outcome !== 'success' && attempt.outcome !== 'hedge_lost') entry.failures += 1;
  }
  return [...byTarget.values()];
}
