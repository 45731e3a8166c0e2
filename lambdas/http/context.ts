/** What the HTTP app needs, and what it keeps per request. */
import type { ApiKeyService } from '../core/access/api-keys';
import type { Principal } from '../core/access/ports';
import type { FlagStore } from '../core/rollout/flag-store';
import type { MessageService } from '../core/messaging/message-service';
import type { Orchestrator } from '../core/ai/orchestrator';
import type { RateLimiter } from '../core/rate-limit/rate-limiter';
import type { BackgroundTasks } from '../core/background';
import type { DailyReport } from '../core/metering/ports';
import type { Clock } from '../core/ports';
import type { TokenEstimator } from '../core/ai/ports';
import type { UsageStore } from '../core/metering/ports';
import type { LegacyTarget, RouteTable } from '../core/ai/route-table';
import type { RequestSummary } from '../core/request-summary';
import type { Telemetry } from '../core/telemetry';

/** Result of one readiness check. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
}

export interface AppDeps {
  maxBodyBytes: number;
  routeTable: RouteTable;
  orchestrator: Orchestrator;
  apiKeys: ApiKeyService;
  readiness: Record<string, () => Promise<CheckResult>>;
  telemetry: Telemetry;
  limiter: RateLimiter;
  /** What AI requests do when the limiter's store fails (messaging always fails closed). */
  rateLimitFailMode: 'closed' | 'open';
  messages: MessageService;
  /** Rollout flags (AppConfig on AWS, a file locally). */
  flags: FlagStore;
  /** The pre-orchestrator path: one provider and model. */
  legacyTarget: LegacyTarget;
  clock: Clock;
  newRequestId: () => string;
  /** Called once per request with its final summary (usage record, aggregates, alerts run in the background). */
  afterRequest: (summary: RequestSummary) => void;
  /** Post-response work; drained before reads that must see it. */
  background: BackgroundTasks;
  /** Counts the tokens of answers cut short before the provider reported usage. */
  tokens: TokenEstimator;
  usage: Pick<UsageStore, 'aggregates'>;
  prices: { version: string; source: string };
  /** Daily cost reports: build, store and announce one day's report; read a stored one. */
  reports: {
    run(day: string): Promise<{ report: DailyReport; text: string; announced: boolean }>;
    get(day: string): Promise<{ report: DailyReport; text: string } | undefined>;
  };
}

type LambdaContextLike = { awsRequestId?: string };

export type AppEnv = {
  /** Set by `hono/aws-lambda` on Lambda (`context` when streaming, `lambdaContext` when buffered); absent locally. */
  Bindings: { context?: LambdaContextLike; lambdaContext?: LambdaContextLike } | undefined;
  Variables: {
    requestId: string;
    startedAt: number;
    principal: Principal;
    /** AI details for the request's log line, filled by the chat route. */
    ai: RequestSummary['ai'];
    /** Set when the route records the summary itself (streams finish after the handler returns). */
    deferSummary: boolean;
    /** Which processing path the rollout flag chose, for the log line. */
    rollout: RequestSummary['rollout'];
    /** The limiter's decision, for the request's log line and metrics. */
    rateLimit: RequestSummary['rateLimit'];
    /** The `code` of the error the request was answered with, if any. */
    errorCode: string | null;
    /** Schedules (post-response) the settlement of the admitted AI request's token reservation to its real usage; safe to call twice. */
    settleTokens: ((usedTokens: number) => Promise<void>) | undefined;
  };
};
