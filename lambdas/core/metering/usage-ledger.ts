/**
 * Writes each request's usage record exactly once: the only write a request makes after its answer.
 * Aggregates, spend totals and budget alerts follow off the request path, in batches (see
 * `aggregation.ts`): fed from here locally, from the usage table's stream on AWS.
 */
import type { AggregationFeed } from './aggregation';
import type { Clock } from '../ports';
import type { PriceTable } from './pricing';
import type { RequestSummary } from '../request-summary';
import type { Telemetry } from '../telemetry';
import { buildUsageRecord, type UsageRecord } from './usage-record';
import { errorFields } from '../errors';
import type { UsageOutbox, UsageStore } from './ports';

/** How a record write is retried before the record is spilled: 4 attempts, 0.7 s of waits between them in all. */
export const RECORD_RETRY = { attempts: 4, baseDelayMs: 100 };

/** The longest one record write takes when every attempt runs to `callMs`: the attempts, and the waits between them. */
export function longestRecordWriteMs(callMs: number, retry: { attempts: number; baseDelayMs: number } = RECORD_RETRY): number {
  let waits = 0;
  for (let attempt = 1; attempt < retry.attempts; attempt++) waits += retry.baseDelayMs * 2 ** (attempt - 1);
  return retry.attempts * callMs + waits;
}

export class UsageLedger {
  /** Records whose write has not finished yet: spilled as they are if the process must stop first. */
  private readonly inFlight = new Map<string, UsageRecord>();
  /** How many times `spillInFlight` ran: a replay under way stops when it does. */
  private stops = 0;

  constructor(
    private readonly store: UsageStore,
    private readonly prices: PriceTable,
    private readonly clock: Clock,
    private readonly telemetry: Telemetry,
    private readonly retentionSeconds: number,
    /** Where stored records go to be aggregated (nowhere on AWS: the table's stream feeds the aggregator). */
    private readonly aggregation: AggregationFeed,
    /** Where records wait while the store is down. */
    private readonly outbox: UsageOutbox,
    private readonly retry = RECORD_RETRY,
  ) {}

  /**
   * Writes the request's one usage record and hands it over to aggregation. A store that fails is retried with backoff; past that the record is spilled to the outbox and
   * written when the store is back. Never throws.
   */
  async record(summary: RequestSummary): Promise<UsageRecord> {
    const record = buildUsageRecord(summary, this.clock.now(), this.prices);
    this.inFlight.set(record.requestId, record);
    try {
      await this.write(record, true);
    } catch (error) {
      await this.spill([record], error);
    } finally {
      this.inFlight.delete(record.requestId);
    }
    return record;
  }

  /** Writes a record that waited in the outbox; throws when the store is still down (it stays in the outbox). */
  async replay(record: UsageRecord): Promise<void> {
    await this.write(record, false);
  }

  /**
   * Writes records that waited in the outbox, one after another; those the store still refuses are
   * spilled back. Each counts as in flight until it is written, so a stop part-way through spills
   * the rest back with `spillInFlight` (a record spilled twice is harmless: a replay that finds its
   * record adds nothing).
   */
  async replayAll(records: UsageRecord[]): Promise<{ replayed: number; waiting: number }> {
    for (const record of records) this.inFlight.set(record.requestId, record);
    const stops = this.stops;
    const failed: UsageRecord[] = [];
    let replayed = 0;
    let cause: unknown;
    for (const record of records) {
      // Spilled back by a stop: the rest went with it.
      if (this.stops !== stops) break;
      try {
        await this.write(record, false);
        this.inFlight.delete(record.requestId);
        replayed += 1;
      } catch (error) {
        failed.push(record);
        cause = error;
      }
    }
    const waiting = failed.filter((record) => this.inFlight.delete(record.requestId));
    if (waiting.length > 0) await this.spill(waiting, cause);
    return { replayed, waiting: records.length - replayed };
  }

  /** Stopping before the writes in flight finished: their records go to the outbox (a later duplicate is harmless). */
  async spillInFlight(): Promise<number> {
    this.stops += 1;
    const records = [...this.inFlight.values()];
    this.inFlight.clear();
    if (records.length > 0) await this.spill(records, new Error('stopping before the usage store answered'));
    return records.length;
  }

  /**
   * `fresh`: the record was just built here, under a request id this gateway made, so nothing else
   * has written it. Its first attempt needs no condition (and may share a batch with other records).
   * A later attempt is conditional, because an earlier one may have landed without our hearing of
   * it; and finding the record then means exactly that (no one else writes this id): it is ours,
   * created once, and counted once. A replayed record (from the outbox) may have been written and
   * counted before it was spilled: found, it adds nothing.
   */
  private async write(record: UsageRecord, fresh: boolean): Promise<void> {
    const expiresAt = Math.ceil(Date.parse(record.createdAt) / 1000) + this.retentionSeconds;
    let attempts = 0;
    const created = await this.withRetry(async () => {
      if (fresh && attempts++ === 0) {
        await this.store.addNewRecord(record, expiresAt);
        return true;
      }
      return (await this.store.putRecord(record, expiresAt)) || fresh;
    });
    if (!created) return;
    this.telemetry.usage(record);
    if (record.costMicros === null) {
      this.telemetry.error('model has no price: usage recorded as unpriced', {
        requestId: record.requestId,
        provider: record.provider,
        model: record.model,
        priceVersion: record.priceVersion,
      });
    }
    this.aggregation.add(record);
  }

  private async withRetry<T>(operation: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (error) {
        if (attempt >= this.retry.attempts) throw error;
        await this.clock.sleep(this.retry.baseDelayMs * 2 ** (attempt - 1)).catch(() => undefined);
      }
    }
  }

  private async spill(records: UsageRecord[], cause: unknown): Promise<void> {
    try {
      await this.outbox.spill(records);
      this.telemetry.count('UsageRecordsSpilled', records.length);
      this.telemetry.error('usage records spilled: the usage store is unavailable', {
        count: records.length,
        requestIds: records.map((r) => r.requestId),
        error: errorFields(cause),
      });
    } catch (error) {
      // Nowhere left to keep them: the log line carries them, so they can still be recovered.
      this.telemetry.count('UsageRecordsLost', records.length);
      this.telemetry.error('usage records lost: store and outbox unavailable', {
        records,
        error: errorFields(error),
        cause: errorFields(cause),
      });
    }
  }
}
