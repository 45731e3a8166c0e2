/** What the HTTP app needs, and the one thing it keeps per request: the request's record. */
import type { AiRequests, CacheProbe } from '../core/ai/ai-requests';
import type { ProviderConfigs } from '../core/ai/provider-configs';
import type { RouteTable } from '../core/ai/route-table';
import type { ApiKeyService } from '../core/access/api-keys';
import type { Principal } from '../core/access/ports';
import type { BackgroundTasks } from '../core/background';
import type { MessageService } from '../core/messaging/message-service';
import type { DailyReport } from '../core/metering/ports';
import type { UsageStore } from '../core/metering/ports';
import type { PriceTable } from '../core/metering/pricing';
import type { Clock } from '../core/ports';
import type { RateLimiter } from '../core/rate-limit/rate-limiter';
import type { RequestRecord, SummarySink } from '../core/request-record';
import type { ProviderDirectory } from '../core/ai/ports';
import type { ResponseCache } from '../core/ai/response-cache';
import type { HealthMonitor } from '../core/health/health-monitor';
import type { Telemetry } from '../core/telemetry';

/** Result of one readiness check. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
}

/** Everything the app is built from; each route takes only its own part (see the route factories' deps). */
export interface AppDeps {
  maxBodyBytes: number;
  clock: Clock;
  newRequestId: () => string;
  telemetry: Telemetry;
  /** Where each finished request's summary goes (log line and metrics, then usage records and alerts). */
  summaries: SummarySink;
  /** The route table in force (runtime provider configurations applied). */
  routes: () => RouteTable;
  /** Providers managed at runtime (`/admin/providers`). */
  providerConfigs: Pick<ProviderConfigs, 'describe' | 'change'>;
  /** A fresh id for each stored provider key version. */
  keyVersion: () => string;
  ai: AiRequests;
  apiKeys: ApiKeyService;
  readiness: Record<string, () => Promise<CheckResult>>;
  limiter: RateLimiter;
  /** What AI requests do when the limiter's store fails (messaging always fails closed). */
  rateLimitFailMode: 'closed' | 'open';
  /** Whether AI requests are admitted against limits and quota (`AI_METERING`); messaging always is. */
  aiMetering: boolean;
  messages: MessageService;
  /** Post-response work; drained before reads that must see it. */
  background: BackgroundTasks;
  usage: Pick<UsageStore, 'aggregates' | 'recordsOfDay'>;
  /** The price table itself, for estimates (recommendations). */
  pricing: PriceTable;
  /** Provider health (breakers, failover) and the provider clients, for `/api/ai-providers/*`. */
  health: Pick<HealthMonitor, 'refresh' | 'state' | 'stats' | 'setManual' | 'lastLimits' | 'nearLimit'>;
  providers: ProviderDirectory;
  /** The response cache, for purges (absent: nothing to purge). */
  cache: Pick<ResponseCache, 'purge'> | undefined;
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
    /** The request's record: caller, decisions, routing, usage; finished once per request. */
    record: RequestRecord;
    /** AI routes: the response-cache lookup started beside the admission. */
    cacheProbe?: Promise<CacheProbe | undefined>;
  };
};

/** The authenticated caller of a route behind `authenticate` (a route without it is a wiring bug). */
export function caller(c: { var: { record: RequestRecord } }): Principal {
  const principal = c.var.record.principal;
  if (!principal) throw new Error(`no authenticated caller on ${c.var.record.path}`);
  return principal;
}
