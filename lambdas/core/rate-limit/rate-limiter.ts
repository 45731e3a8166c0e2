/**
 * Per-user rate limits and plan token quotas on shared counters.
 *
 * Each (policy, user) is one counter item. `ai_requests` also carries the user's token quota, so an
 * AI request's whole admission (minute, hour and day requests, day and month tokens) is a single
 * conditional write. Tokens are reserved on admission (an input estimate plus an output reservation)
 * and settled to the provider's real `usage` afterwards.
 */
import type { Plan } from '../access/ports';
import type { Clock } from '../ports';
import { CounterEngine, currentCount, type CounterSpec } from './counters';
import { type CounterState, type CounterStore } from './ports';
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
import { secondsUntilReset, windowEndOf, windowIndex, type WindowKind } from './windows';

const REQUEST_COUNTER: Record<RequestWindow, string> = { minute: 'm', hour: 'h', day: 'd' };
const QUOTA_COUNTER: Record<QuotaWindow, string> = { day: 'qd', month: 'qm' };

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
  windows: Record<string, number>;
  /** Counter name -> amount added on admission. */
  added: Record<string, number>;
  reservedTokens: number;
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
  ) {
    this.counters = new CounterEngine(store);
  }

  static key(policy: PolicyName, userId: string): string {
    return `rl#${policy}#${userId}`;
  }

  /** Admits one request in every window of the policy (and the quota), or refuses it and counts the violation. */
  async admit(request: AdmitRequest): Promise<LimitDecision> {
    const now = this.clock.now();
    const specs = this.specs(request);
    const key = RateLimiter.key(request.policy, request.userId);
    const longest: WindowKind = specs.some((s) => s.window === 'month') ? 'month' : 'day';
    const expiresAt = Math.ceil(windowEndOf(longest, windowIndex(longest, now)) / 1000);
    const result = await this.counters.admit(key, specs, now, expiresAt);
    const headers = this.headerWindows(specs, result.state, now);
    if (result.admitted) {
      const added = Object.fromEntries(specs.map((s) => [s.name, s.add]));
      return { allowed: true, ticket: { key, windows: result.windows, added, reservedTokens: request.reserveTokens ?? 0 }, ...headers };
    }
    const blocking = result.blocking.map((name) => {
      const spec = specs.find((s) => s.name === name)!;
      return { counter: name.startsWith('q') ? ('tokens' as const) : ('requests' as const), window: spec.window, limit: spec.limit ?? 0 };
    });
    // A refused request is a violation in the current minute, hour and day alike (which limit refused
    // it is in the decision, the log line and the RateLimited metric's window dimension).
    const violations = REQUEST_WINDOWS.map((w) => {
      const name = REQUEST_COUNTER[w];
      return { name, window: currentCount(result.state, name, w, now).window, field: 'violations' as const, add: 1 };
    });
    await this.counters.adjust(key, violations);
    const retryAfterSeconds = Math.max(...blocking.map((b) => secondsUntilReset(b.window, now)));
    const reason = blocking.some((b) => b.counter === 'tokens') ? 'quota_exceeded' : 'rate_limited';
    return { allowed: false, reason, retryAfterSeconds, blocking, ...headers };
  }

  /** Gives an admitted request's slot (and its token reservation) back, e.g. when the message could not be sent. */
  async refund(ticket: AdmissionTicket): Promise<void> {
    await this.counters.adjust(
      ticket.key,
      Object.entries(ticket.added).map(([name, add]) => ({ name, window: ticket.windows[name]!, field: 'count' as const, add: -add })),
    );
  }

  /** Replaces the request's token reservation with the tokens it really used. */
  async settleTokens(ticket: AdmissionTicket, usedTokens: number): Promise<void> {
    const delta = Math.max(0, Math.round(usedTokens)) - ticket.reservedTokens;
    if (delta === 0) return;
    const adjustments = Object.values(QUOTA_COUNTER)
      .filter((name) => ticket.windows[name] !== undefined)
      .map((name) => ({ name, window: ticket.windows[name]!, field: 'count' as const, add: delta }));
    await this.counters.adjust(ticket.key, adjustments);
  }

  /** Every window's limit, use, room, reset time and violations, and the plan's token quota. */
  async status(userId: string, plan: Plan): Promise<UserStatus> {
    const now = this.clock.now();
    const keys = { onlyfans_messaging: RateLimiter.key('onlyfans_messaging', userId), ai_requests: RateLimiter.key('ai_requests', userId) };
    const items = await this.counters.readMany(Object.values(keys));
    const policyStatus = (policy: PolicyName): PolicyStatus => {
      const limits = limitsFor(this.policies, policy, plan);
      const state = items.get(keys[policy]);
      const windows = Object.fromEntries(
        REQUEST_WINDOWS.map((w) => [w, windowStatus(limits[w], currentCount(state, REQUEST_COUNTER[w], w, now).count, w, now)]),
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
          day: windowStatus(quota.day, currentCount(aiState, QUOTA_COUNTER.day, 'day', now).count, 'day', now),
          month: windowStatus(quota.month, currentCount(aiState, QUOTA_COUNTER.month, 'month', now).count, 'month', now),
        },
      },
    };
  }

  /** Deletes a user's counters (every policy, violations and token use). */
  reset(userId: string): Promise<void> {
    return this.counters.remove([RateLimiter.key('onlyfans_messaging', userId), RateLimiter.key('ai_requests', userId)]);
  }

  private specs(request: AdmitRequest): CounterSpec[] {
    const limits = limitsFor(this.policies, request.policy, request.plan);
    const specs: CounterSpec[] = REQUEST_WINDOWS.map((w) => ({
      name: REQUEST_COUNTER[w],
      window: w,
      limit: limits[w] ?? undefined,
      add: 1,
    }));
    if (request.policy === 'ai_requests') {
      const quota = quotaFor(this.policies, request.plan);
      for (const w of QUOTA_WINDOWS) {
        specs.push({
          name: QUOTA_COUNTER[w],
          window: w,
          limit: quota[w] ?? undefined,
          add: Math.max(0, Math.round(request.reserveTokens ?? 0)),
        });
      }
    }
    return specs;
  }

  private headerWindows(
    specs: CounterSpec[],
    state: CounterState,
    now: number,
  ): { requests: HeaderWindow | undefined; tokens: HeaderWindow | undefined } {
    const tightest = (names: string[]): HeaderWindow | undefined => {
      let best: HeaderWindow | undefined;
      for (const spec of specs) {
        if (!names.includes(spec.name) || spec.limit === undefined) continue;
        const count = currentCount(state, spec.name, spec.window, now).count;
        const resetAt = windowEndOf(spec.window, windowIndex(spec.window, now));
        const candidate = { limit: spec.limit, remaining: Math.max(0, spec.limit - count), resetInMs: resetAt - now, resetAt };
        if (
          !best ||
          candidate.remaining < best.remaining ||
          (candidate.remaining === best.remaining && candidate.resetInMs < best.resetInMs)
        )
          best = candidate;
      }
      return best;
    };
    return { requests: tightest(Object.values(REQUEST_COUNTER)), tokens: tightest(Object.values(QUOTA_COUNTER)) };
  }
}

function windowStatus(limit: number | null, used: number, kind: WindowKind, now: number): WindowStatus {
  return {
    limit,
    used,
    remaining: limit === null ? null : Math.max(0, limit - used),
    resetAt: new Date(windowEndOf(kind, windowIndex(kind, now))).toISOString(),
  };
}
