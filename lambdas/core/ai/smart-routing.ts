/**
 * Smart routing (`model: "auto"`): the prompt's complexity and what the caller optimises for pick a
 * tier of the task's targets; the caller's plan caps or lifts it; `max_latency_ms` and `max_cost_usd`
 * filter targets by their recent p95 (the health engine's counters) and their estimated cost (the
 * price table, the prompt's tokens and the output allowed); targets whose breaker is open or cooling
 * are never chosen. The selection explains itself: the same function answers `/v1/routing/explain`
 * and routes the real request, so the explanation is what the request then does.
 */
import type { Plan } from '../access/ports';
import { costMicros, priceOf, type PriceTable } from '../metering/pricing';
import { classifyComplexity, type Complexity, type ComplexityModel, type ComplexityResult } from './complexity';
import type { TargetPerformance } from './ports';
import { targetKey, tierTargets, TIERS, type PlannedTarget, type RouteTable, type TaskType, type Tier } from './route-table';

export const OPTIMIZE_FOR = ['cost', 'latency', 'quality'] as const;
export type OptimizeFor = (typeof OPTIMIZE_FOR)[number];

export interface SmartOptions {
  optimizeFor: OptimizeFor;
  maxLatencyMs?: number | undefined;
  maxCostUsd?: number | undefined;
}

/** Complexity x what the caller optimises for -> tier. */
const TIER_FOR: Record<OptimizeFor, Record<Complexity, Tier>> = {
  cost: { simple: 'fast', medium: 'balanced', complex: 'quality' },
  latency: { simple: 'fast', medium: 'fast', complex: 'balanced' },
  quality: { simple: 'balanced', medium: 'quality', complex: 'quality' },
};

export interface Candidate {
  target: PlannedTarget;
  tier: Tier;
  /** Estimated cost of this request on the target, USD (null: the model has no price). */
  costUsd: number | null;
  /** Recent p50 and p95 of the target's calls (null: no recent calls). */
  p50Ms: number | null;
  p95Ms: number | null;
  reliability: number | null;
  /** Why it cannot be chosen, when it cannot. */
  excluded?: 'circuit_open' | 'max_latency_ms' | 'max_cost_usd' | 'above_plan';
}

export interface Selection {
  complexity: ComplexityResult;
  tier: Tier;
  /** What moved the tier away from complexity x optimize_for (`plan floor pro: quality`, `plan cap free: balanced`...). */
  adjustments: string[];
  options: SmartOptions;
  /** The targets to call, in order: the chosen tier's eligible targets, then the nearest tiers' as fallbacks. */
  targets: PlannedTarget[];
  /** Every target considered, eligible or not (the explanation's alternatives). */
  candidates: Candidate[];
  /** The estimate of the task's quality tier (the first priced quality target): what "always quality" would cost. */
  qualityCostUsd: number | null;
  promptTokens: number;
  outputTokens: number;
}

export type SelectionResult =
  | { ok: true; selection: Selection }
  | { ok: false; constraint: 'max_latency_ms' | 'max_cost_usd' | 'availability'; message: string; closest: Candidate | undefined };

export interface SelectInput {
  table: RouteTable;
  taskType: TaskType;
  body: Record<string, unknown>;
  plan: Plan;
  options: SmartOptions;
  model: ComplexityModel;
  prices: PriceTable;
  promptTokens: number;
  /** The task's recent average output (this instance's answers), for a request without `max_tokens`. */
  recentOutputTokens?: number | undefined;
  health: TargetPerformance | undefined;
}

const rank = (tier: Tier) => TIERS.indexOf(tier);

export function selectRoute(input: SelectInput): SelectionResult {
  const { table, taskType, body, plan, options, health } = input;
  const complexity = classifyComplexity(body, taskType, input.model);
  const adjustments: string[] = [];
  let tier = TIER_FOR[options.optimizeFor][complexity.complexity];
  const floor = table.smart.planFloors[taskType]?.[plan];
  if (floor && rank(floor) > rank(tier)) {
    adjustments.push(`plan floor ${plan}: ${floor}`);
    tier = floor;
  }
  const cap = table.smart.planCaps[plan];
  if (cap && rank(cap) < rank(tier)) {
    adjustments.push(`plan cap ${plan}: ${cap}`);
    tier = cap;
  }

  const requested = Number(body['max_completion_tokens'] ?? body['max_tokens']);
  const outputTokens =
    Number.isInteger(requested) && requested > 0 ? requested : Math.round(input.recentOutputTokens ?? table.smart.defaultOutputTokens);
  const estimate = (target: PlannedTarget): number | null => {
    const price = priceOf(input.prices, target.provider, target.model);
    return price ? costMicros(price, { promptTokens: input.promptTokens, completionTokens: outputTokens }) / 1e6 : null;
  };

  const seen = new Set<string>();
  const candidates: Candidate[] = [];
  // The chosen tier first, then the others nearest first (up before down at the same distance).
  const order = [...TIERS].sort((a, b) => Math.abs(rank(a) - rank(tier)) - Math.abs(rank(b) - rank(tier)) || rank(b) - rank(a));
  for (const t of order) {
    for (const target of tierTargets(table, taskType, t)) {
      const key = `${targetKey(target)}@${target.model}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const performance = health?.performance(target);
      const candidate: Candidate = {
        target,
        tier: t,
        costUsd: estimate(target),
        p50Ms: performance?.p50Ms ?? null,
        p95Ms: performance?.p95Ms ?? null,
        reliability: performance?.successRate ?? null,
      };
      if (cap && rank(t) > rank(cap)) candidate.excluded = 'above_plan';
      else if (health?.wouldSkip(target)) candidate.excluded = 'circuit_open';
      else if (options.maxLatencyMs !== undefined && candidate.p95Ms !== null && candidate.p95Ms > options.maxLatencyMs)
        candidate.excluded = 'max_latency_ms';
      else if (options.maxCostUsd !== undefined && (candidate.costUsd === null || candidate.costUsd > options.maxCostUsd))
        candidate.excluded = 'max_cost_usd';
      candidates.push(candidate);
    }
  }
  const eligible = candidates.filter((c) => !c.excluded);
  const qualityCostUsd =
    tierTargets(table, taskType, 'quality')
      .map(estimate)
      .find((c) => c !== null) ?? null;
  if (eligible.length === 0) return refusal(candidates, options);
  // The first eligible candidate may be in another tier than planned (a constraint ruled the tier out).
  const chosenTier = eligible[0]!.tier;
  if (chosenTier !== tier) adjustments.push(`${tier} unavailable under the constraints: ${chosenTier}`);
  return {
    ok: true,
    selection: {
      complexity,
      tier: chosenTier,
      adjustments,
      options,
      targets: eligible.map((c) => c.target),
      candidates,
      qualityCostUsd,
      promptTokens: input.promptTokens,
      outputTokens,
    },
  };
}

const usd = (n: number | null) => (n === null ? 'unpriced' : `$${n.toFixed(6)}`);

/** Nothing meets the constraints: which one, and the candidate that comes closest. */
function refusal(candidates: Candidate[], options: SmartOptions): SelectionResult {
  const byCost = candidates.filter((c) => c.excluded === 'max_cost_usd' && c.costUsd !== null).sort((a, b) => a.costUsd! - b.costUsd!);
  if (byCost.length > 0) {
    const closest = byCost[0]!;
    return {
      ok: false,
      constraint: 'max_cost_usd',
      message: `No target meets max_cost_usd ${options.maxCostUsd}: the cheapest is ${closest.target.provider}/${closest.target.model} at an estimated ${usd(closest.costUsd)}.`,
      closest,
    };
  }
  const byLatency = candidates.filter((c) => c.excluded === 'max_latency_ms').sort((a, b) => (a.p95Ms ?? 0) - (b.p95Ms ?? 0));
  if (byLatency.length > 0) {
    const closest = byLatency[0]!;
    return {
      ok: false,
      constraint: 'max_latency_ms',
      message: `No target meets max_latency_ms ${options.maxLatencyMs}: the fastest is ${closest.target.provider}/${closest.target.model} with a recent p95 of ${closest.p95Ms} ms.`,
      closest,
    };
  }
  return {
    ok: false,
    constraint: 'availability',
    message: 'Every target smart routing may use is unavailable (circuits open) or above your plan.',
    closest: candidates[0],
  };
}

/** The explanation of a selection, in the shape `/v1/routing/explain` answers. */
export function explainSelection(requestId: string, selection: Selection) {
  const chosen = selection.candidates.find((c) => !c.excluded)!;
  const priced = selection.candidates.map((c) => c.costUsd).filter((c): c is number => c !== null);
  const maxCost = Math.max(...priced, 0);
  const timed = selection.candidates.map((c) => c.p50Ms).filter((c): c is number => c !== null);
  const maxTime = Math.max(...timed, 0);
  const suitability = (c: Candidate) => Number((1 - Math.abs(rank(c.tier) - rank(selection.tier)) / 2).toFixed(2));
  const round = (n: number | null, digits = 6) => (n === null ? null : Number(n.toFixed(digits)));
  return {
    requestId,
    selectedProvider: chosen.target.provider,
    model: chosen.target.model,
    tier: selection.tier,
    complexity: selection.complexity.complexity,
    complexityScore: selection.complexity.score,
    confidence: selection.complexity.confidence,
    estimatedCost: round(chosen.costUsd),
    estimatedTime: chosen.p50Ms,
    fallbackProviders: selection.targets.slice(1).map((t) => ({ provider: t.provider, model: t.model })),
    optimizationApplied: { optimizeFor: selection.options.optimizeFor, adjustments: selection.adjustments },
    selectionCriteria: {
      cost: chosen.costUsd === null || maxCost === 0 ? null : Number((1 - chosen.costUsd / maxCost).toFixed(3)),
      performance: chosen.p50Ms === null || maxTime === 0 ? null : Number((1 - chosen.p50Ms / maxTime).toFixed(3)),
      reliability: chosen.reliability === null ? null : Number(chosen.reliability.toFixed(4)),
      specialization: suitability(chosen),
    },
    estimate: {
      promptTokens: selection.promptTokens,
      outputTokens: selection.outputTokens,
      qualityTierCost: round(selection.qualityCostUsd),
    },
    alternatives: selection.candidates.slice(1).map((c) => ({
      provider: c.target.provider,
      model: c.target.model,
      tier: c.tier,
      cost: round(c.costUsd),
      estimatedTime: c.p50Ms,
      reliability: c.reliability === null ? null : Number(c.reliability.toFixed(4)),
      suitability: suitability(c),
      ...(c.excluded ? { excluded: c.excluded } : {}),
    })),
  };
}
