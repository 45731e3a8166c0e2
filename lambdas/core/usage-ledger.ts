/**
 * Writes each request's usage record exactly once, then adds it to the aggregates (single-item ADD
 * updates) and checks the budgets against the totals those updates return.
 */
import type { BudgetAlerts, SpendTotals } from './alerts';
import type { Clock } from './ports';
import type { PriceTable } from './pricing';
import type { RequestSummary, Telemetry } from './telemetry';
import { buildUsageRecord, type UsageRecord } from './usage-record';

/** What one record adds to each aggregate it belongs to. */
export interface AggregateCounts {
  requests: number;
  errors: number;
  fallbacks: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costMicros: number;
  unpriced: number;
  estimated: number;
  latencyMs: number;
}

/** One aggregate as stored: a day, and either a detail cell (hour x task x provider x model) or a user. */
export type AggregateRow = AggregateCounts & { day: string } & (
    | { kind: 'detail'; hour: string; taskType: string; provider: string; model: string }
    | { kind: 'user'; userId: string }
  );

/** Port: usage records and their aggregates. */
export interface UsageStore {
  /** Stores the record unless one with its request id exists; true when this call created it. */
  putRecord(record: UsageRecord, expiresAt: number): Promise<boolean>;
  /**
   * Adds the record to its aggregate cells (day x hour x task x provider x model, day x user) and to
   * the spend totals in `totals`; returns those totals after the addition (`null` for the others).
   */
  addToAggregates(record: UsageRecord, counts: AggregateCounts, totals: Record<keyof SpendTotals, boolean>): Promise<SpendTotals>;
  /** Every aggregate of the UTC days `from`..`to` (inclusive, `YYYY-MM-DD`). */
  aggregates(from: string, to: string): Promise<AggregateRow[]>;
  /** Every record of one UTC day. */
  recordsOfDay(day: string): Promise<UsageRecord[]>;
}

export function countsOf(record: UsageRecord): AggregateCounts {
  return {
    requests: 1,
    errors: record.status >= 500 || record.errorClass !== null ? 1 : 0,
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
      this.telemetry.error('model has no price: usage recorded as unpriced', { requestId: record.requestId, provider: record.provider, model: record.model, priceVersion: record.priceVersion });
    }
    const totals = await this.store.addToAggregates(record, countsOf(record), this.totals);
    await this.budgets.check(record.costMicros ?? 0, totals, { day: record.day, month: record.day.slice(0, 7) }, record.userId);
    return record;
  }
}
