/**
 * The limiter at the HTTP edge: OpenAI-style `x-ratelimit-*` headers, 429/503 answers in the path's
 * error shape, and admission of AI requests (request windows and token quota in one write).
 */
import type { Context } from 'hono';
import type { Principal } from '../core/access/ports';
import { errorFields } from '../core/errors';
import type { PolicyName } from '../core/rate-limit/policies';
import type { HeaderWindow, LimitDecision, RateLimiter } from '../core/rate-limit/rate-limiter';
import { formatResetDuration } from '../core/rate-limit/windows';
import type { RequestRecord } from '../core/request-record';
import type { Telemetry } from '../core/telemetry';
import type { AppEnv } from './context';
import type { ErrorSpec } from './errors';

/** OpenAI's header names; `-requests` for the tightest request window, `-tokens` for the tightest quota window. */
export function limitHeaders(decision: Pick<LimitDecision, 'requests' | 'tokens'>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const add = (suffix: string, window: HeaderWindow | undefined) => {
    if (!window) return;
    out.push(
      [`x-ratelimit-limit-${suffix}`, String(window.limit)],
      [`x-ratelimit-remaining-${suffix}`, String(window.remaining)],
      [`x-ratelimit-reset-${suffix}`, formatResetDuration(window.resetInMs)],
    );
  };
  add('requests', decision.requests);
  add('tokens', decision.tokens);
  return out;
}

export function setLimitHeaders(c: Context, decision: Pick<LimitDecision, 'requests' | 'tokens'>): void {
  for (const [name, value] of limitHeaders(decision)) c.header(name, value);
}

/** Longest `Retry-After` a client should sleep through before retrying by itself. */
const MAX_CLIENT_WAIT_SECONDS = 60;

/** The 429 for a refused request. */
export function refusalSpec(decision: Extract<LimitDecision, { allowed: false }>, policy: string): ErrorSpec {
  const what = decision.blocking.map((b) => `${b.limit} ${b.counter} per ${b.window}`).join(', ');
  const retry = `Retry in ${decision.retryAfterSeconds}s.`;
  if (decision.reason === 'quota_exceeded') {
    return {
      message: `Token quota exhausted (${what}). ${retry}`,
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      retryAfterSeconds: decision.retryAfterSeconds,
      noRetry: true,
      legacyCode: 'QUOTA_EXCEEDED',
    };
  }
  return {
    message: `Rate limit reached for ${policy} (${what}). ${retry}`,
    type: 'requests',
    code: 'rate_limit_exceeded',
    retryAfterSeconds: decision.retryAfterSeconds,
    // A minute window is worth waiting for; an hour or a day window is not (clients would sleep for hours).
    ...(decision.retryAfterSeconds > MAX_CLIENT_WAIT_SECONDS ? { noRetry: true } : {}),
    legacyCode: 'RATE_LIMITED',
  };
}

/** A refused request: its `rateLimit` outcome for the log line and metrics, and its 429. */
export function noteRefusal(record: RequestRecord, policy: PolicyName, decision: Extract<LimitDecision, { allowed: false }>): ErrorSpec {
  record.rateLimit = { policy, outcome: decision.reason, blocking: decision.blocking.map(({ counter, window }) => ({ counter, window })) };
  return refusalSpec(decision, policy);
}

export const limiterUnavailableSpec: ErrorSpec = {
  message: 'Rate limiting is temporarily unavailable, so the request was not processed; retry shortly.',
  type: 'service_unavailable',
  code: 'rate_limiter_unavailable',
  retryAfterSeconds: 1,
};

/**
 * The limiter's store failed: an error log line naming the policy and fail mode, and the request's
 * `rateLimit` outcome (which the `RateLimiterErrors` metric counts).
 */
export function noteLimiterFailure(
  record: RequestRecord,
  telemetry: Telemetry,
  policy: PolicyName,
  failMode: 'closed' | 'open',
  error: unknown,
): void {
  telemetry.error('rate limiter unavailable', {
    requestId: record.requestId,
    policy,
    failMode,
    error: errorFields(error),
  });
  record.rateLimit = { policy, outcome: failMode === 'open' ? 'admitted_fail_open' : 'limiter_unavailable' };
}

export interface AdmissionDeps {
  limiter: RateLimiter;
  /** What AI requests do when the limiter's store fails. */
  rateLimitFailMode: 'closed' | 'open';
  /** `false`: AI requests are admitted without a limiter write (the `AI_METERING=off` stateless path). */
  aiMetering?: boolean;
  telemetry: Telemetry;
  /** Started as admission starts, to overlap with it (the response-cache lookup). */
  alongside?: (c: Context<AppEnv>, principal: Principal) => void;
}

/** Admission of a request for `principal` (rate limits and token quota): the AI routes' second step after the key check. */
export type Admission = (c: Context<AppEnv>, principal: Principal) => Promise<AdmitOutcome>;

/** What admission decided, to answer once authentication has also finished. */
export type AdmitOutcome =
  | { ok: true; headers: Array<[string, string]>; undo: () => Promise<void> }
  | { ok: false; status: 429 | 503; spec: ErrorSpec; headers: Array<[string, string]> };

/** Admitted without a limiter write (metering off, or the limiter failing open): no headers, nothing to undo. */
const ADMITTED_UNCOUNTED: AdmitOutcome = Object.freeze({ ok: true, headers: [], undo: async () => undefined });

/**
 * Admits AI requests: one conditional write covering the `ai_requests` windows and the plan's day
 * and month token quota, reserving tokens for the request (an estimate of its input from the body
 * size plus `outputReservationTokens`), settled to the real usage by the consumer of usage records.
 * Never throws: a store failure follows the configured fail mode, and is logged and counted either way.
 * With AI metering off, every authenticated request is admitted as it is, without a write.
 */
export function aiAdmission(deps: AdmissionDeps): Admission {
  if (deps.aiMetering === false) {
    return async (c, principal) => {
      deps.alongside?.(c, principal);
      return ADMITTED_UNCOUNTED;
    };
  }
  return async (c: Context<AppEnv>, principal: Principal): Promise<AdmitOutcome> => {
    const record = c.var.record;
    deps.alongside?.(c, principal);
    const declared = Number(c.req.header('content-length') ?? 4096);
    const reserveTokens = Math.ceil((Number.isFinite(declared) ? declared : 4096) / 4) + deps.limiter.policies.outputReservationTokens;
    let decision: LimitDecision;
    try {
      decision = await deps.limiter.admit({ userId: principal.userId, plan: principal.plan, policy: 'ai_requests', reserveTokens });
    } catch (error) {
      noteLimiterFailure(record, deps.telemetry, 'ai_requests', deps.rateLimitFailMode, error);
      return deps.rateLimitFailMode === 'open' ? ADMITTED_UNCOUNTED : { ok: false, status: 503, spec: limiterUnavailableSpec, headers: [] };
    }
    const headers = limitHeaders(decision);
    if (!decision.allowed) {
      return { ok: false, status: 429, spec: noteRefusal(record, 'ai_requests', decision), headers };
    }
    record.rateLimit = { policy: 'ai_requests', outcome: 'admitted' };
    const ticket = decision.ticket;
    // Settled off the request path: the usage record carries the change and the batched consumer of
    // usage records applies it; until then, the reservation stands in for the real count.
    record.reservedTokens(ticket.reservedTokens, ticket.quotaWindows);
    return {
      ok: true,
      headers,
      undo: async () => {
        record.reservationReleased();
        await deps.limiter.refund(ticket);
      },
    };
  };
}
