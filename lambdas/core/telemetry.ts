/** What the gateway records about each request: one structured log line plus metrics. */
import type { UsageRecord } from './metering/usage-record';
import type { RequestSummary } from './request-summary';

/** Port: where request summaries go (Powertools logger + EMF metrics on AWS and locally). */
export interface Telemetry {
  record(summary: RequestSummary): void;
  /** A failure that is not tied to an answer the client sees (for example an unexpected exception). */
  error(message: string, context: Record<string, unknown>): void;
  /** A notable event worth a log line (an admin action, a degraded mode). */
  info(message: string, context: Record<string, unknown>): void;
  /** Tokens and cost of one stored usage record (metrics per provider and model). */
  usage(record: UsageRecord): void;
  /** Adds to a counter metric without dimensions (`FlagsStale`, `FlagsRejected`, ...). */
  count(metric: string, value: number): void;
  /** One value of a metric with low-cardinality dimensions (`CircuitTransitions` per target, `HeartbeatLatency`, ...). */
  metric(name: string, value: number, dimensions: Record<string, string>, unit?: 'Count' | 'Milliseconds' | 'None'): void;
}
