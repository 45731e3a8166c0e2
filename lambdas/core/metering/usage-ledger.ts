/**
 * Writes each request's usage record exactly once, then adds it to the aggregates (single-item ADD
 * updates) and checks the budgets against the totals those updates return.
 */
import type { BudgetAlerts } from './alerts';
import type { SpendTotals } from './ports';
import type { Clock } from '../ports';
import type { PriceTable } from './pricing';
import type { RequestSummary } from '../request-summary';
import type { Telemetry } from '../telemetry';
import { buildUsageRecord, type UsageRecord } from './usage-record';
import { isFailure } from '../request-summary';
import { cellPerformance } from './performance';
import type { AggregateCounts, UsageStore } from './ports';

export function countsOf(record: UsageRecord): AggregateCounts {
  return {
    requests: 1,
    errors: isFailure(record.status, record.errorClass) ? 1 : 0,
    fallbacks: record.fallback ? 1 : 0,
    inputTokens: record.inputTokens,
    outputTokens: record.outputTokens,
    cachedTokens: record.cachedTokens,
    costMicros: record.costMicros ?? 0,
    unpriced: record.costMicros === null ? 1 : 0,
    estimated: record.tokensSource === 'estimated' ? 1 : 0,
    latencyMs: record.latencyMs,
  };
}

export class UsageLedger {
  constructor(
    private readonly store: UsageStore,
    private readonly prices: PriceTable,
    private readonly clock: Clock,
    private readonly telemetry: Telemetry,
    private readonly budgets: BudgetAlerts,
    private readonly retentionSeconds: number,
    /** Spend totals to keep: only those a budget reads (each costs a write per request). */
    private readonly totals: Record<keyof SpendTotals, boolean>,
  ) {}

  async record(summary: RequestSummary): Promise<UsageRecord> {
    const now = this.clock.now();
    const record = buildUsageRecord(summary, now, this.prices);
    const created = await this.store.putRecord(record, Math.ceil(now / 1000) + this.retentionSeconds);
    // A second delivery of the same request adds nothing: exactly one record, counted once.
    if (!created) return record;
    this.telemetry.usage(record);
    if (record.costMicros === null) {
      this.telemetry.error('model has no price: usage recorded as unpriced', {
        requestId: record.requestId,
        provider: record.provider,
        model: record.model,
        priceVersion: record.priceVersion,
      });
    }
    const totals = await this.store.addToAggregates(record, countsOf(record), this.totals, cellPerformance(record));
    await this.budgets.check(record.costMicros ?? 0, totals, { day: record.day, month: record.day.slice(0, 7) }, record.userId);
    return record;
  }
}
