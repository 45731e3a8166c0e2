/**
 * `Telemetry` on Powertools: one JSON log line per request (Logger) and EMF metrics (Metrics) with
 * low-cardinality dimensions only (provider, task type).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { isFailure, type RequestSummary } from '../../core/request-summary';
import type { Telemetry } from '../../core/telemetry';
import type { UsageRecord } from '../../core/metering/usage-record';

/** Keys Powertools Logger owns in every line: extra attributes with these names are dropped. */
export const RESERVED_LOG_KEYS: readonly string[] = ['level', 'message', 'sampling_rate', 'service', 'timestamp'];

/** A context whose keys the logger keeps: a reserved one is renamed (`message` -> `context_message`), never lost. */
function keepable(context: Record<string, unknown>): Record<string, unknown> {
  if (!RESERVED_LOG_KEYS.some((key) => key in context)) return context;
  return Object.fromEntries(
    Object.entries(context).map(([key, value]) => [RESERVED_LOG_KEYS.includes(key) ? `context_${key}` : key, value]),
  );
}

/** EMF metrics whose identity is exactly {provider, taskType} (no default `service` dimension). */
export function createMetrics(namespace: string, serviceName: string): Metrics {
  const metrics = new Metrics({ namespace, serviceName });
  metrics.clearDefaultDimensions();
  return metrics;
}

export class PowertoolsTelemetry implements Telemetry {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics | undefined,
    private readonly serviceName = 'hybrid-orchestrator',
  ) {}

  record(summary: RequestSummary): void {
    // A stream a provider cut mid-way was answered 200 but failed: it is logged as the error it is.
    const level =
      summary.status >= 500 || summary.ai?.outcome === 'stream_error'
        ? 'error'
        : summary.status >= 400 && summary.status !== 499
          ? 'warn'
          : 'info';
    this.logger[level]('request', { ...summary });
    if (summary.ai && this.metrics) this.publish(summary, summary.ai);
    if (summary.rateLimit && this.metrics) this.publishLimiter(summary.rateLimit);
  }

  error(message: string, context: Record<string, unknown>): void {
    this.logger.error(message, keepable(context));
  }

  info(message: string, context: Record<string, unknown>): void {
    this.logger.info(message, keepable(context));
  }

  /** `InputTokens`, `OutputTokens`, `CachedTokens`, `CostUSD` (or `UnpricedRequests`) per provider and model; cache hits and misses. */
  usage(record: UsageRecord): void {
    if (!this.metrics) return;
    const metrics = this.metrics;
    // Response cache, service-wide: `CacheHits`, `CacheMisses` and the spend hits saved (`CacheSavedUSD`).
    if (record.cache === 'hit' || record.cache === 'miss') {
      metrics.addDimensions({ service: this.serviceName });
      metrics.addMetric(record.cache === 'hit' ? 'CacheHits' : 'CacheMisses', MetricUnit.Count, 1);
      if (record.savedCostMicros) metrics.addMetric('CacheSavedUSD', MetricUnit.NoUnit, record.savedCostMicros / 1e6);
      metrics.publishStoredMetrics();
    }
    if (record.inputTokens + record.outputTokens === 0) return;
    metrics.addDimensions({ provider: record.provider ?? 'none', model: record.model ?? 'none' });
    metrics.addMetric('InputTokens', MetricUnit.Count, record.inputTokens);
    metrics.addMetric('OutputTokens', MetricUnit.Count, record.outputTokens);
    metrics.addMetric('CachedTokens', MetricUnit.Count, record.cachedTokens);
    if (record.costMicros === null) metrics.addMetric('UnpricedRequests', MetricUnit.Count, 1);
    else metrics.addMetric('CostUSD', MetricUnit.NoUnit, record.costMicros / 1e6);
    if (record.tokensSource === 'estimated') metrics.addMetric('EstimatedUsage', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    // Service-wide spend, for the daily cost and cost anomaly alarms.
    if (record.costMicros !== null) {
      metrics.addDimensions({ service: this.serviceName });
      metrics.addMetric('CostUSD', MetricUnit.NoUnit, record.costMicros / 1e6);
      metrics.publishStoredMetrics();
    }
  }

  count(metric: string, value: number): void {
    if (!this.metrics) return;
    this.metrics.addDimensions({ service: this.serviceName });
    this.metrics.addMetric(metric, MetricUnit.Count, value);
    this.metrics.publishStoredMetrics();
  }

  metric(name: string, value: number, dimensions: Record<string, string>, unit: 'Count' | 'Milliseconds' | 'None' = 'Count'): void {
    if (!this.metrics) return;
    this.metrics.addDimensions(dimensions);
    this.metrics.addMetric(
      name,
      unit === 'Milliseconds' ? MetricUnit.Milliseconds : unit === 'None' ? MetricUnit.NoUnit : MetricUnit.Count,
      value,
    );
    this.metrics.publishStoredMetrics();
  }

  /** `RateLimited` per blocking (policy, window), `QuotaExceeded` per window, `RateLimiterErrors` per policy. */
  private publishLimiter(limit: NonNullable<RequestSummary['rateLimit']>): void {
    const metrics = this.metrics!;
    if (limit.outcome === 'limiter_unavailable' || limit.outcome === 'admitted_fail_open') {
      metrics.addDimensions({ policy: limit.policy });
      metrics.addMetric('RateLimiterErrors', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return;
    }
    for (const blocked of limit.blocking ?? []) {
      if (blocked.counter === 'requests') {
        metrics.addDimensions({ policy: limit.policy, window: blocked.window });
        metrics.addMetric('RateLimited', MetricUnit.Count, 1);
      } else {
        metrics.addDimensions({ window: blocked.window });
        metrics.addMetric('QuotaExceeded', MetricUnit.Count, 1);
      }
      metrics.publishStoredMetrics();
    }
  }

  /** Synchronous from start to flush, so concurrent requests never mix their dimensions. */
  private publish(summary: RequestSummary, ai: NonNullable<RequestSummary['ai']>): void {
    const metrics = this.metrics!;
    const provider = ai.chosen?.provider ?? 'none';
    metrics.addDimensions({ provider, taskType: ai.taskType });
    metrics.addMetric('Requests', MetricUnit.Count, 1);
    const failed = isFailure(summary.status, ai.errorClass) ? 1 : 0;
    metrics.addMetric('Errors', MetricUnit.Count, failed);
    metrics.addMetric('Latency', MetricUnit.Milliseconds, summary.latencyMs);
    metrics.addMetric('Fallbacks', MetricUnit.Count, ai.fallback ? 1 : 0);
    metrics.addMetric('Retries', MetricUnit.Count, ai.retries);
    if (ai.timeToFirstTokenMs !== undefined) metrics.addMetric('TimeToFirstToken', MetricUnit.Milliseconds, ai.timeToFirstTokenMs);
    // A hedge ran and the second target answered first.
    if (ai.attempts.some((a) => a.hedge && a.outcome === 'success')) metrics.addMetric('HedgesWon', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    // The same count across every provider and task (dimension `service` only): what the error-rate
    // alarm (AppConfig's rollback monitor) divides, since alarm math cannot sum a dimension's values.
    metrics.addDimensions({ service: this.serviceName });
    metrics.addMetric('Requests', MetricUnit.Count, 1);
    metrics.addMetric('Errors', MetricUnit.Count, failed);
    metrics.addMetric('Fallbacks', MetricUnit.Count, ai.fallback ? 1 : 0);
    // How long a caller waits for the answer to start: the first token of a stream, the whole JSON answer otherwise.
    metrics.addMetric('ResponseLatency', MetricUnit.Milliseconds, ai.timeToFirstTokenMs ?? summary.latencyMs);
    metrics.publishStoredMetrics();
    for (const attempt of ai.attempts) {
      // A hedge's loser was cancelled because the other answered first: neither an error nor a latency of the provider's.
      if (attempt.outcome === 'skipped' || attempt.outcome === 'hedge_lost') continue;
      metrics.addDimensions({ provider: attempt.provider, taskType: ai.taskType });
      metrics.addMetric('ProviderLatency', MetricUnit.Milliseconds, attempt.latencyMs);
      metrics.addMetric('ProviderErrors', MetricUnit.Count, attempt.outcome === 'success' ? 0 : 1);
      metrics.publishStoredMetrics();
    }
  }
}
