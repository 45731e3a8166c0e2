/** What the gateway knows about one finished request: the source of its log line, metrics and usage record. */
import type { Usage } from './ai/ports';
import type { AttemptRecord, RouteTrace } from './ai/orchestrator';
import type { TaskSource } from './ai/task';
import type { ProviderId, TaskType } from './ai/route-table';

/**
 * The one definition of a failed request, used by usage records, aggregates, the daily report and the
 * metrics alike: answered 5xx, or ended by an error of ours or a provider's (a refused provider call,
 * a stream cut mid-way). A client that went away (499, `aborted`) is not an error; neither is a limit's
 * refusal (429 with no error class).
 */
export function isFailure(status: number, errorClass: string | null | undefined): boolean {
  if (status === 499 || errorClass === 'aborted') return false;
  return status >= 500 || (errorClass !== null && errorClass !== undefined);
}

export interface RequestSummary {
  /** The gateway's own id of the request (always generated: the usage record's key). */
  requestId: string;
  /** The caller's `x-request-id`, when it sent a safe one (echoed in the response). */
  callerRequestId?: string;
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
  /**
   * An admitted AI request's token settlement: how far its real use (or 0, when nothing was used) is
   * from the tokens it reserved, and the quota windows it reserved them in. Absent when nothing
   * changes (no reservation, one given back, an answer without usage whose reservation stands).
   */
  quota?: { day: number; month: number; deltaTokens: number };
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
    /** A hedge ran: the target that lost the race, and the prompt tokens it received (estimated). */
    hedge?: { provider: ProviderId; model: string; inputTokens: number };
    /** Orchestrated requests: the normalised request's hash (repeats), the prompt's complexity, the output cap asked. */
    requestHash?: string;
    complexity?: 'simple' | 'medium' | 'complex' | undefined;
    maxTokens?: number;
    /** Smart routing's tier (its complexity is `complexity` above), and the task's quality target (what the request would have cost there). */
    smart?: {
      tier: 'fast' | 'balanced' | 'quality';
      optimizeFor: 'cost' | 'latency' | 'quality';
      qualityTarget?: { provider: ProviderId; model: string };
    };
    /** What the response cache did; a hit also carries the usage its stored answer cost when it was made. */
    cache?: { status: 'HIT' | 'MISS' | 'BYPASS' | 'REFRESH'; ageSeconds?: number; savedUsage?: Usage };
  };
}
