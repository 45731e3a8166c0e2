/**
 * Per-user rate limits and plan token quotas on shared counters.
 *
 * Each (policy, user) is one counter item. `ai_requests` also carries the user's token quota, so an
 * AI request's whole admission (minute, hour and day requests, day and month tokens) is a single
 * conditional write. Tokens are reserved on admission (an input estimate plus an output reservation)
 * and settled to the provider's real `usage` afterwards.
 *
 * A policy counts in calendar windows (`fixed`) or in sliding ones (`sliding`, see `sliding.ts`). A
 * sliding policy keeps calendar counters too, without limits: they hold the refusals (violations) and
 * the admissions per calendar window that reports show.
 */
import type { Plan } from '../access/ports';
import type { Clock, Random } from '../ports';
import { CounterEngine, currentCount, logValue, ringValue, siblingUse, type CounterSpec } from './counters';
import { type CounterAdjustment, type CounterState, type CounterStore } from './ports';
import { logUse, ringUse, type LogSpec, type RingSpec } from './sliding';
import {
  limitsFor,
  quotaFor,
  QUOTA_WINDOWS,
  REQUEST_WINDOWS,
  type PolicyName,
  type QuotaWindow,
  type RateLimitPolicies,
  type RequestWindow,
} from './policies';
import { windowEndOf, windowIndex, type WindowKind } from './windows';

const REQUEST_COUNTER: Record<RequestWindow, string> = { minute: 'm', hour: 'h', day: 'd' };
/** A sliding window's log and ring have names of their own, so one never reads as the other after a limit moves between them. */
const LOG_COUNTER: Record<RequestWindow, string> = { minute: 'lm', hour: 'lh', day: 'ld' };
const RING_COUNTER: Record<RequestWindow, string> = { minute: 'rm', hour: 'rh', day: 'rd' };
const QUOTA_COUNTER: Record<QuotaWindow, string> = { day: 'qd', month: 'qm' };
const WINDOW_MS: Record<RequestWindow, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Limits up to this use an exact log (one slot per admission); larger ones use buckets. */
export const LOG_SLOTS_MAX = 50;
/** Buckets per window for the larger sliding limits: may refuse up to 1/12 of a window early, never over. */
export const BUCKETS_PER_WINDOW = 12;

/** A counter of an admission, with what it limits. */
interface Limited {
  spec: CounterSpec;
  counter: 'requests' | 'tokens';
  window: WindowKind;
  limit: number | undefined;
}

/** A counter's use at an instant: the count that admission is checked against, and when it changes. */
interface Use {
  used: number;
  /** When the count next falls (a calendar window's end; the oldest admission leaving a sliding one). */
  resetAt: number;
  /** The earliest an admission can succeed (now when there is room). */
  roomAt: number;
}

export interface WindowStatus {
  limit: number | null;
  used: number;
  remaining: number | null;
  resetAt: string;
}

export interface PolicyStatus {
  minute: WindowStatus;
  hour: WindowStatus;
  day: WindowStatus;
  violations: Record<RequestWindow, number>;
}

export interface QuotaStatus {
  plan: Plan;
  tokens: Record<QuotaWindow, WindowStatus>;
}

export interface UserStatus {
  userId: string;
  limits: Record<PolicyName, PolicyStatus>;
  quota: QuotaStatus;
}

/** The window a response's `x-ratelimit-*` headers describe (the one with the least room). */
export interface HeaderWindow {
  limit: number;
  remaining: number;
  resetInMs: number;
  /** When the window resets (epoch ms). */
  resetAt: number;
}

/** Where one admitted request counted, so it can be refunded or settled later. */
export interface AdmissionTicket {
  key: string;
  /** What gives the admission back. */
  refund: CounterAdjustment[];
  /** The quota windows the token reservation counted in. */
  quotaWindows: { day: number; month: number };
  reservedTokens: number;
}

/**
 * A user's token settlements of one quota day so far, as the batched consumer of usage records keeps
 * them: `version` records settled, `total` tokens of change (real use minus reservation, summed).
 */
export interface QuotaSettlement {
  /** The quota windows the settled requests were admitted in (days since the epoch; months since year 0). */
  day: number;
  month: number;
  version: number;
  total: number;
}

export type LimitDecision =
  | { allowed: true; ticket: AdmissionTicket; requests: HeaderWindow | undefined; tokens: HeaderWindow | undefined }
  | {
      allowed: false;
      reason: 'rate_limited' | 'quota_exceeded';
      /** Seconds until every blocking window has reset. */
      retryAfterSeconds: number;
      blocking: Array<{ counter: 'requests' | 'tokens'; window: WindowKind; limit: number }>;
      requests: HeaderWindow | undefined;
      tokens: HeaderWindow | undefined;
    };

export interface AdmitRequest {
  userId: string;
  plan: Plan;
  policy: PolicyName;
  /** Tokens to reserve against the plan quota (only for `ai_requests`). */
  reserveTokens?: number;
}

export class RateLimiter {
  private readonly counters: CounterEngine;

  constructor(
    store: CounterStore,
    private readonly clock: Clock,
    readonly policies: RateLimitPolicies,
    random: Random,
    private readonly options: { logSlotsMax?: number } = {},
  ) {
    this.counters = new CounterEngine(store, random);
  }

  static key(policy: PolicyName, userId: string): string {
    return `rl#${policy}#${userId}`;
  }

  /** Admits one request in every window of the policy (and the quota), or refuses it and counts the violation. */
  async admit(request: AdmitRequest): Promise<LimitDecision> {
    const now = this.clock.now();
    const limited = this.limited(request.policy, request.plan, request.reserveTokens);
    const specs = limited.map((l) => l.spec);
    const key = RateLimiter.key(request.policy, request.userId);
    const longest: WindowKind = request.policy === 'ai_requests' ? 'month' : 'day';
    // A sliding window's admissions matter for one window length after the calendar day ends.
    const expiresAt = Math.ceil((windowEndOf(longest, windowIndex(longest, now)) + WINDOW_MS.day) / 1000);
    const violations = REQUEST_WINDOWS.map((w) => ({ name: REQUEST_COUNTER[w], window: w }));
    const result = await this.counters.admit(key, specs, now, expiresAt, violations);
    const headers = this.headerWindows(limited, result.state, now);
    if (result.admitted) {
      const quotaWindows = {
        day: result.windows[QUOTA_COUNTER.day] ?? windowIndex('day', now),
        month: result.windows[QUOTA_COUNTER.month] ?? windowIndex('month', now),
      };
      return { allowed: true, ticket: { key, refund: result.undo, quotaWindows, reservedTokens: request.reserveTokens ?? 0 }, ...headers };
    }
    const refusing = limited.filter((l) => result.blocking.includes(l.spec.name));
    const blocking = refusing.map((l) => ({ counter: l.counter, window: l.window, limit: l.limit ?? 0 }));
    // A refused request is a violation in the current minute, hour and day alike (which limit refused
    // it is in the decision, the log line and the RateLimited metric's window dimension).
    if (!result.counted) await this.counters.countRefusal(key, violations, now, expiresAt, result.state);
    const roomAt = Math.max(...refusing.map((l) => useOf(l, result.state, now).roomAt));
    const retryAfterSeconds = Math.max(1, Math.ceil((roomAt - now) / 1000));
    const reason = blocking.some((b) => b.counter === 'tokens') ? 'quota_exceeded' : 'rate_limited';
    return { allowed: false, reason, retryAfterSeconds, blocking, ...headers };
  }

  /** Gives an admitted request's slot (and its token reservation) back, e.g. when the message could not be sent. */
  async refund(ticket: AdmissionTicket): Promise<void> {
    await this.counters.adjust(ticket.key, ticket.refund);
  }

  /**
   * Applies a user's token settlements for one quota day (see `QuotaSettlement`): the day and month
   * token counters move by what the settlements changed since the version the item last took.
   */
  async settle(userId: string, settlement: QuotaSettlement): Promise<void> {
    await this.counters.settle(RateLimiter.key('ai_requests', userId), {
      slot: `s${settlement.day % 2}`,
      day: settlement.day,
      version: settlement.version,
      total: settlement.total,
      counters: [
        { name: QUOTA_COUNTER.day, window: settlement.day },
        { name: QUOTA_COUNTER.month, window: settlement.month },
      ],
    });
  }

  /** Every window's limit, use, room, reset time and violations, and the plan's token quota. */
  async status(userId: string, plan: Plan): Promise<UserStatus> {
    const now = this.clock.now();
    const keys = { onlyfans_messaging: RateLimiter.key('onlyfans_messaging', userId), ai_requests: RateLimiter.key('ai_requests', userId) };
    const items = await this.counters.readMany(Object.values(keys));
    const policyStatus = (policy: PolicyName): PolicyStatus => {
      const state = items.get(keys[policy]);
      const limited = this.limited(policy, plan, 0);
      const windows = Object.fromEntries(
        REQUEST_WINDOWS.map((w) => {
          const l = limited.find((x) => x.counter === 'requests' && x.window === w && x.limit !== undefined);
          const limit = l?.limit ?? null;
          const use = l ? useOf(l, state, now) : calendarUse(state, REQUEST_COUNTER[w], w, now);
          return [w, windowStatus(limit, use)];
        }),
      ) as Record<RequestWindow, WindowStatus>;
      const violations = Object.fromEntries(
        REQUEST_WINDOWS.map((w) => [w, currentCount(state, REQUEST_COUNTER[w], w, now).violations]),
      ) as Record<RequestWindow, number>;
      return { ...windows, violations };
    };
    const quota = quotaFor(this.policies, plan);
    const aiState = items.get(keys.ai_requests);
    return {
      userId,
      limits: { onlyfans_messaging: policyStatus('onlyfans_messaging'), ai_requests: policyStatus('ai_requests') },
      quota: {
        plan,
        tokens: {
          day: windowStatus(quota.day, calendarUse(aiState, QUOTA_COUNTER.day, 'day', now)),
          month: windowStatus(quota.month, calendarUse(aiState, QUOTA_COUNTER.month, 'month', now)),
        },
      },
    };
  }

  /**
   * Deletes a user's counters (every policy, violations and token use). The AI item keeps its
   * settlement sync slots: settlements already applied before the reset are not applied again to the
   * emptied counters (those of requests still unsettled at the reset still land on them).
   */
  async reset(userId: string): Promise<void> {
    await Promise.all([
      this.counters.remove([RateLimiter.key('onlyfans_messaging', userId)]),
      this.counters.clearCounters(RateLimiter.key('ai_requests', userId)),
    ]);
  }

  /** The counters an admission to `policy` counts in, with what each limits. */
  private limited(policy: PolicyName, plan: Plan, reserveTokens: number | undefined): Limited[] {
    const limits = limitsFor(this.policies, policy, plan);
    const sliding = this.policies[policy].algorithm === 'sliding';
    const out: Limited[] = [];
    for (const w of REQUEST_WINDOWS) {
      const limit = limits[w] ?? undefined;
      // Calendar counters always count (violations live there); they limit only a fixed policy.
      const calendar = { name: REQUEST_COUNTER[w], window: w, limit: sliding ? undefined : limit, add: 1 };
      out.push({ spec: calendar, counter: 'requests', window: w, limit: calendar.limit });
      if (!sliding || limit === undefined) continue;
      const windowMs = WINDOW_MS[w];
      const log: LogSpec = { algorithm: 'log', name: LOG_COUNTER[w], windowMs, limit };
      const ring: RingSpec = { algorithm: 'ring', name: RING_COUNTER[w], windowMs, bucketMs: windowMs / BUCKETS_PER_WINDOW, limit };
      // The other form still counts what it holds (a limit changed between deployments or plans).
      const spec: CounterSpec =
        limit <= (this.options.logSlotsMax ?? LOG_SLOTS_MAX) ? { ...log, sibling: ring } : { ...ring, sibling: log };
      out.push({ spec, counter: 'requests', window: w, limit });
    }
    if (policy === 'ai_requests') {
      const quota = quotaFor(this.policies, plan);
      for (const w of QUOTA_WINDOWS) {
        const limit = quota[w] ?? undefined;
        const spec = { name: QUOTA_COUNTER[w], window: w, limit, add: Math.max(0, Math.round(reserveTokens ?? 0)) };
        out.push({ spec, counter: 'tokens', window: w, limit });
      }
    }
    return out;
  }

  private headerWindows(
    limited: Limited[],
    state: CounterState,
    now: number,
  ): { requests: HeaderWindow | undefined; tokens: HeaderWindow | undefined } {
    const tightest = (counter: Limited['counter']): HeaderWindow | undefined => {
      let best: HeaderWindow | undefined;
      for (const l of limited) {
        if (l.counter !== counter || l.limit === undefined) continue;
        const use = useOf(l, state, now);
        const candidate = {
          limit: l.limit,
          remaining: Math.max(0, l.limit - use.used),
          resetInMs: use.resetAt - now,
          resetAt: use.resetAt,
        };
        if (
          !best ||
          candidate.remaining < best.remaining ||
          (candidate.remaining === best.remaining && candidate.resetInMs < best.resetInMs)
        )
          best = candidate;
      }
      return best;
    };
    return { requests: tightest('requests'), tokens: tightest('tokens') };
  }
}

function calendarUse(state: CounterState | null | undefined, name: string, kind: WindowKind, now: number): Use {
  const resetAt = windowEndOf(kind, windowIndex(kind, now));
  return { used: currentCount(state, name, kind, now).count, resetAt, roomAt: resetAt };
}

/** A counter's use at `now`: calendar counters reset at the window's end, sliding ones as admissions leave the window. */
function useOf(l: Limited, state: CounterState | null | undefined, now: number): Use {
  const spec = l.spec;
  if (spec.algorithm === 'log' || spec.algorithm === 'ring') {
    const usedAt = (t: number) => slidingUsed(spec, state, t) + siblingUse(spec, state, t);
    const own = spec.algorithm === 'log' ? logUse(spec, now, logValue(state, spec.name)) : ringUse(spec, now, ringValue(state, spec.name));
    const used = own.used + siblingUse(spec, state, now);
    // The earliest instant the count (this form's and the other's) is below the limit: now, or when
    // one of them next falls (only searched when there is no room now, as on a refusal). A whole
    // window when nothing stored explains the refusal (a limit of 0).
    const roomAt =
      used < spec.limit
        ? now
        : ([...changeTimes(spec, state, now), ...(spec.sibling ? changeTimes(spec.sibling, state, now) : [])]
            .sort((a, b) => a - b)
            .find((t) => usedAt(t) < spec.limit) ?? now + spec.windowMs);
    return { used, resetAt: own.freesAt ?? now, roomAt };
  }
  const use = calendarUse(state, spec.name, l.window, now);
  return { ...use, roomAt: l.limit !== undefined && use.used < l.limit ? now : use.resetAt };
}

function slidingUsed(spec: LogSpec | RingSpec, state: CounterState | null | undefined, at: number): number {
  return spec.algorithm === 'log' ? logUse(spec, at, logValue(state, spec.name)).used : ringUse(spec, at, ringValue(state, spec.name)).used;
}

/** The instants after `now` at which a sliding form's count can fall: an admission leaving a log, a bucket boundary of a ring. */
function changeTimes(spec: LogSpec | RingSpec, state: CounterState | null | undefined, now: number): number[] {
  if (spec.algorithm === 'log') {
    return (logValue(state, spec.name)?.times ?? []).map((at) => at + spec.windowMs).filter((t) => t > now);
  }
  const first = Math.floor(now / spec.bucketMs) + 1;
  return Array.from({ length: Math.ceil(spec.windowMs / spec.bucketMs) + 2 }, (_, i) => (first + i) * spec.bucketMs);
}

function windowStatus(limit: number | null, use: Use): WindowStatus {
  return {
    limit,
    used: use.used,
    remaining: limit === null ? null : Math.max(0, limit - use.used),
    resetAt: new Date(use.resetAt).toISOString(),
  };
}
