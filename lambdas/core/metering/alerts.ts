/**
 * Alerts: budget thresholds (one alert per level per period, however many requests cross it at once)
 * and critical errors (with a cooldown, so an outage sends a handful of alerts, not thousands).
 * Published through a port: SNS on AWS, stdout and `.local/alerts.jsonl` locally.
 */
import type { Clock } from '../ports';
import type { Alert, AlertMarkers, AlertPublisher, SpendTotals } from './ports';

export type CriticalKind =
  'all_providers_failed' | 'provider_credentials' | 'limiter_unavailable' | 'store_unavailable' | 'unexpected_exception';

/** Raises critical alerts at most once per kind per cooldown window, across all instances. */
export class CriticalAlerts {
  private readonly attempted = new Map<CriticalKind, number>();

  constructor(
    private readonly publisher: AlertPublisher,
    private readonly markers: AlertMarkers,
    private readonly clock: Clock,
    private readonly cooldownMs: number,
  ) {}

  async raise(kind: CriticalKind, message: string, context: Record<string, unknown>): Promise<boolean> {
    const now = this.clock.now();
    const window = Math.floor(now / this.cooldownMs);
    // This instance already tried this window: skip even the marker write.
    if (this.attempted.get(kind) === window) return false;
    this.attempted.set(kind, window);
    let claimed: boolean;
    try {
      claimed = await this.markers.claim(`critical#${kind}#${window}`, Math.ceil((now + 2 * this.cooldownMs) / 1000));
    } catch {
      // The marker store is what is down (a DynamoDB outage): alert anyway; this instance's own
      // cooldown still holds it to one alert per window, so an outage sends one per instance.
      claimed = true;
    }
    if (!claimed) return false;
    await this.publisher.publish({
      kind: 'critical',
      severity: 'critical',
      subject: `Hybrid Orchestrator: ${kind.replaceAll('_', ' ')}`,
      message: `${message} (further "${kind}" alerts are held for ${Math.round(this.cooldownMs / 60_000)} min)`,
      context,
      at: new Date(now).toISOString(),
    });
    return true;
  }
}

export interface BudgetConfig {
  /** USD budgets; undefined = no budget for that scope. */
  dailyUsd?: number | undefined;
  monthlyUsd?: number | undefined;
  userDailyUsd?: number | undefined;
  userMonthlyUsd?: number | undefined;
  /** Warning levels in percent of the budget. */
  levels: number[];
}

/** Which spend totals the configured budgets need (the others are not written at all). */
export function trackedTotals(config: BudgetConfig): Record<keyof SpendTotals, boolean> {
  return {
    day: config.dailyUsd !== undefined,
    month: config.monthlyUsd !== undefined,
    userDay: config.userDailyUsd !== undefined,
    userMonth: config.userMonthlyUsd !== undefined,
  };
}

/** Finds the budget levels one request's cost crossed and alerts once per level per period. */
export class BudgetAlerts {
  constructor(
    private readonly config: BudgetConfig,
    private readonly publisher: AlertPublisher,
    private readonly markers: AlertMarkers,
    private readonly clock: Clock,
  ) {}

  async check(costMicros: number, totals: SpendTotals, period: { day: string; month: string }, userId: string | null): Promise<Alert[]> {
    if (costMicros <= 0) return [];
    const scopes: Array<{ scope: string; label: string; budgetUsd: number | undefined; total: number | null; period: string }> = [
      {
        scope: 'global-day',
        label: `daily spend on ${period.day}`,
        budgetUsd: this.config.dailyUsd,
        total: totals.day,
        period: period.day,
      },
      {
        scope: 'global-month',
        label: `monthly spend in ${period.month}`,
        budgetUsd: this.config.monthlyUsd,
        total: totals.month,
        period: period.month,
      },
      {
        scope: `user-day#${userId}`,
        label: `daily spend of user ${userId} on ${period.day}`,
        budgetUsd: this.config.userDailyUsd,
        total: totals.userDay,
        period: period.day,
      },
      {
        scope: `user-month#${userId}`,
        label: `monthly spend of user ${userId} in ${period.month}`,
        budgetUsd: this.config.userMonthlyUsd,
        total: totals.userMonth,
        period: period.month,
      },
    ];
    const sent: Alert[] = [];
    for (const { scope, label, budgetUsd, total, period: p } of scopes) {
      if (budgetUsd === undefined || total === null) continue;
      const budget = Math.round(budgetUsd * 1e6);
      const before = total - costMicros;
      for (const level of this.config.levels) {
        const threshold = Math.ceil((budget * level) / 100);
        // Counters only grow by ADD, so exactly one request's (before, total] contains the threshold;
        // the marker also absorbs a retried delivery of that request.
        if (!(before < threshold && total >= threshold)) continue;
        if (!(await this.markers.claim(`budget#${scope}#${p}#${level}`, Math.ceil(this.clock.now() / 1000) + 40 * 86_400))) continue;
        const alert: Alert = {
          kind: 'budget',
          severity: level >= 100 ? 'critical' : 'warning',
          subject: `Hybrid Orchestrator: ${label} reached ${level}% of $${budgetUsd}`,
          message: `The ${label} is $${(total / 1e6).toFixed(2)}, past ${level}% of the $${budgetUsd} budget.`,
          context: { scope, period: p, level, budgetUsd, spendUsd: total / 1e6, ...(scope.startsWith('user') ? { userId } : {}) },
          at: new Date(this.clock.now()).toISOString(),
        };
        await this.publisher.publish(alert);
        sent.push(alert);
      }
    }
    return sent;
  }
}
