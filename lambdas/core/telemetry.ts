/** What the gateway records about each request: one structured log line plus metrics. */
import type { Usage } from './ports';
import type { AttemptRecord, RouteTrace } from './orchestrator';
import type { TaskSource } from './task';
import type { ProviderId, TaskType } from './route-table';
import type { UsageRecord } from './usage-record';

export interface RequestSummary {
  requestId: string;
  /** The Lambda invocation, to join the line with the platform's own logs. */
  awsRequestId?: string;
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  userId?: string;
  keyId?: string;
  /** The error code the request was answered with (`invalid_api_key`, `rate_limit_exceeded`, ...). */
  errorCode?: string;
  /** Set on AI routes: the processing path the rollout flag chose and why. */
  rollout?: {
    path: 'orchestrated' | 'legacy';
    reason: string;
    /** Where the flags came from (`default`: none loaded yet), and whether they are older than allowed. */
    flags: 'source' | 'default';
    stale: boolean;
  };
  /** Set on rate-limited routes: what the limiter decided. */
  rateLimit?: {
    policy: 'onlyfans_messaging' | 'ai_requests';
    outcome: 'admitted' | 'rate_limited' | 'quota_exceeded' | 'limiter_unavailable' | 'admitted_fail_open';
    blocking?: Array<{ counter: 'requests' | 'tokens'; window: string }>;
  };
  /** Set for AI requests. */
  ai?: {
    taskType: TaskType;
    taskSource: TaskSource;
    requestedModel: string;
    stream: boolean;
    candidates: Array<{ provider: ProviderId; model: string; modelSource: string }>;
    chosen: RouteTrace['chosen'];
    attempts: AttemptRecord[];
    fallback: boolean;
    retries: number;
    outcome: 'ok' | 'error' | 'stream_error' | 'client_closed';
    errorClass: string | null;
    timeToFirstTokenMs?: number;
    usage?: Usage;
    /** Where `usage` came from: the provider, or the gateway's tokenizer for an answer cut short. */
    usageSource?: 'provider' | 'estimated';
  };
}

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
}
