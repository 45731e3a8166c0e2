/**
 * Alerts: budget thresholds (one alert per level per period, however many requests cross it at once)
 * and critical errors (with a cooldown, so an outage sends a handful of alerts, not thousands).
 * Published through a port: SNS on AWS, stdout and `.local/alerts.jsonl` locally.
 */
import { GatewayError } from '../errors';
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

/**
 * Alerts once per budget level per period: the first check that sees a spend total at or past a level
 * claims the level's marker (a conditional write, so one alert however many instances and batches see
 * it) and publishes. Levels this instance saw claimed are not claimed again.
 */
export class BudgetAlerts {
  private readonly claimed = new Set<string>();

  constructor(
    private readonly config: BudgetConfig,
    private readonly publisher: AlertPublisher,
    private readonly markers: AlertMarkers,
    private readonly clock: Clock,
  ) {}

  /** Alerts for every level the `scope` total (micro-dollars) has reached and nobody has alerted yet. */
  async checkTotal(
    scope: keyof SpendTotals,
    total: number,
    period: { day: string; month: string },
    userId: string | null,
  ): Promise<Alert[]> {
    const scopes: Record<keyof SpendTotals, { scope: string; label: string; budgetUsd: number | undefined; period: string }> = {
      day: { scope: 'global-day', label: `daily spend on ${period.day}`, budgetUsd: this.config.dailyUsd, period: period.day },
      month: { scope: 'global-month', label: `monthly spend in ${period.month}`, budgetUsd: this.config.monthlyUsd, period: period.month },
      userDay: {
        scope: `user-day#${userId}`,
        label: `daily spend of user ${userId} on ${period.day}`,
        budgetUsd: this.config.userDailyUsd,
        period: period.day,
      },
      userMonth: {
        scope: `user-month#${userId}`,
        label: `monthly spend of user ${userId} in ${period.month}`,
        budgetUsd: this.config.userMonthlyUsd,
        period: period.month,
      },
    };
    const { scope: key, label, budgetUsd, period: p } = scopes[scope];
    if (budgetUsd === undefined) return [];
    const budget = Math.round(budgetUsd * 1e6);
    const sent: Alert[] = [];
    for (const level of this.config.levels) {
      const threshold = Math.ceil((budget * level) / 100);
      const marker = `budget#${key}#${p}#${level}`;
      // Reached, and not yet seen claimed here: whoever claims the marker first alerts. A check that
      // failed or was retried (a re-delivered batch) checks again: nothing is missed, nothing doubled.
      if (total < threshold || this.claimed.has(marker)) continue;
      const mine = await this.markers.claim(marker, Math.ceil(this.clock.now() / 1000) + 40 * 86_400);
      if (this.claimed.size >= 10_000) this.claimed.clear();
      this.claimed.add(marker);
      if (!mine) continue;
      const alert: Alert = {
        kind: 'budget',
        severity: level >= 100 ? 'critical' : 'warning',
        subject: `Hybrid Orchestrator: ${label} reached ${level}% of $${budgetUsd}`,
        message: `The ${label} is $${(total / 1e6).toFixed(2)}, past ${level}% of the $${budgetUsd} budget.`,
        context: { scope: key, period: p, level, budgetUsd, spendUsd: total / 1e6, ...(key.startsWith('user') ? { userId } : {}) },
        at: new Date(this.clock.now()).toISOString(),
      };
      try {
        await this.publisher.publish(alert);
      } catch (error) {
        // Not sent: give the level back, so the next check (the next batch) claims and sends it.
        this.claimed.delete(marker);
        const released = await this.markers.release(marker).then(
          () => true,
          () => false,
        );
        throw new GatewayError(
          released
            ? `budget alert ${marker} not published; the next check sends it`
            : `budget alert ${marker} not published, and its marker could not be given back: it will not be sent`,
          { cause: error },
        );
      }
      sent.push(alert);
    }
    return sent;
  }
}
