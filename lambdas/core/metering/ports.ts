/** Metering's ports: usage records and aggregates, alerts and their once-only markers, stored reports. */
import type { UsageRecord } from './usage-record';

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
  /** Answers served from the response cache, and what they would have cost (micro-dollars). */
  cacheHits: number;
  savedMicros: number;
  /** Smart routing: what the quality tier would have cost minus what the request cost (micro-dollars). */
  routingSavedMicros: number;
}

/** What a detail cell keeps about its target's performance (see `performance.ts`). */
export interface CellPerformance {
  calls: number;
  callFailures: number;
  fallbacksFrom: number;
  /** Histograms of the answers the target gave: bucket -> count (see `histogramBucket`). */
  latency: Record<string, number>;
  firstEvent: Record<string, number>;
}

/** One aggregate as stored: a day, and either a detail cell (hour x task x provider x model) or a user. */
export type AggregateRow = AggregateCounts & { day: string } & (
    | { kind: 'detail'; hour: string; taskType: string; provider: string; model: string; performance?: CellPerformance }
    | { kind: 'user'; userId: string }
  );

/** Port: usage records and their aggregates. */
export interface UsageStore {
  /**
   * Stores a record whose request id was never written before (one the gateway has just made), with
   * no check: it may share one write with other requests' records.
   */
  addNewRecord(record: UsageRecord, expiresAt: number): Promise<void>;
  /** Stores the record unless one with its request id exists; true when this call created it. */
  putRecord(record: UsageRecord, expiresAt: number): Promise<boolean>;
  /** Every aggregate of the UTC days `from`..`to` (inclusive, `YYYY-MM-DD`). */
  aggregates(from: string, to: string): Promise<AggregateRow[]>;
  /** Every record of one UTC day. */
  recordsOfDay(day: string): Promise<UsageRecord[]>;
}

/**
 * Port: where usage records wait while the usage store cannot take them (a file under `DATA_DIR`
 * locally, an SQS queue on AWS), to be written later. Writing a record twice is harmless: the store
 * keeps the first (a conditional put on the request id).
 */
export interface UsageOutbox {
  spill(records: UsageRecord[]): Promise<void>;
}

export interface Alert {
  kind: 'budget' | 'critical' | 'report';
  severity: 'info' | 'warning' | 'critical';
  subject: string;
  message: string;
  context: Record<string, unknown>;
  at: string;
}

/** Port: where alerts go. */
export interface AlertPublisher {
  publish(alert: Alert): Promise<void>;
}

/** Port: once-only markers (a conditional write): `claim` is true for exactly one caller per key. */
export interface AlertMarkers {
  claim(key: string, expiresAt: number): Promise<boolean>;
  /** Gives a claim back (its alert could not be sent), so a later check claims and sends it. */
  release(key: string): Promise<void>;
}

/** Port: where reports are kept (DynamoDB on AWS and locally; the local script also writes files). */
export interface ReportStore {
  save(report: DailyReport, text: string): Promise<void>;
}

export interface ReportSources {
  recordsOfDay(day: string): Promise<UsageRecord[]>;
}

/** Spend after one request was added, in micro-dollars, per budget scope (`null`: not tracked, no budget). */
export interface SpendTotals {
  day: number | null;
  month: number | null;
  userDay: number | null;
  userMonth: number | null;
}

/** Request, error, token and cost totals of a set of usage records. */
export interface Totals {
  requests: number;
  errors: number;
  errorRate: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costMicros: number;
  costUsd: number;
  unpriced: number;
  estimated: number;
  fallbacks: number;
  /** Answers served from the response cache, and the spend they saved. */
  cacheHits: number;
  savedUsd: number;
}

export interface ProviderLine extends Totals {
  provider: string;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

export interface DailyReport {
  day: string;
  totals: Totals & { rateLimited: number };
  providers: ProviderLine[];
  taskTypes: Array<Totals & { taskType: string }>;
  topUsers: Array<{ userId: string; requests: number; costMicros: number; costUsd: number }>;
  previousDay: { day: string; totals: Totals; change: { requestsPercent: number | null; costPercent: number | null } };
}
