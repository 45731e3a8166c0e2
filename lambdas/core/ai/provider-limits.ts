/**
 * A provider's own rate limits as its responses report them (`x-ratelimit-limit-requests`,
 * `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests`, and the same for tokens: OpenAI sends
 * all six, Azure OpenAI the remaining counts). The gateway tries a target close to its limit after the
 * others until the limit resets.
 */

/** One limit as last reported: `resetAt` is absolute (ms), computed from the reset duration when it came. */
export interface LimitReading {
  limit?: number;
  remaining?: number;
  resetAt?: number;
}

export interface ProviderLimits {
  requests?: LimitReading;
  tokens?: LimitReading;
  /** When the reading was taken (ms). */
  at: number;
}

const UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/** One `<number><unit>` part of a duration, matched where the previous part ended (sticky). */
const DURATION_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/y;

/** Milliseconds of a Go-style duration (`1s`, `6m0s`, `20ms`, `1h2m3.5s`), or of plain seconds; `undefined` when unreadable. */
export function parseResetDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  if (trimmed === '') return undefined;
  // Part after part from the start, each where the last ended: anything else in between is unreadable.
  let ms = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < trimmed.length) {
    const part = DURATION_PART.exec(trimmed);
    if (!part) return undefined;
    ms += Number(part[1]) * UNITS[part[2]!]!;
  }
  return Math.round(ms);
}

/** The header names of each kind of limit, written out once. */
const HEADERS = {
  requests: ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
  tokens: ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
} as const;

/** A header's value as a count, or `undefined` when absent, blank or not a non-negative number. */
function count(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

function reading(get: (name: string) => string | null | undefined, kind: 'requests' | 'tokens', now: number): LimitReading | undefined {
  const [limitHeader, remainingHeader, resetHeader] = HEADERS[kind];
  const limit = count(get(limitHeader));
  const remaining = count(get(remainingHeader));
  if (limit === undefined && remaining === undefined) return undefined;
  const resetText = get(resetHeader);
  const resetMs = resetText ? parseResetDuration(resetText) : undefined;
  const reading: LimitReading = {};
  if (limit !== undefined) reading.limit = limit;
  if (remaining !== undefined) reading.remaining = remaining;
  if (resetMs !== undefined) reading.resetAt = now + resetMs;
  return reading;
}

/** The limits a response's headers report, or `undefined` when it reports none. */
export function readProviderLimits(get: (name: string) => string | null | undefined, now: number): ProviderLimits | undefined {
  const requests = reading(get, 'requests', now);
  const tokens = reading(get, 'tokens', now);
  if (!requests && !tokens) return undefined;
  const limits: ProviderLimits = { at: now };
  if (requests) limits.requests = requests;
  if (tokens) limits.tokens = tokens;
  return limits;
}

/** Below this share of its limit (or this many requests left), a target counts as close to its limit. */
const NEAR_SHARE = 0.05;
const NEAR_REQUESTS = 2;

/**
 * Whether the last reading says the target is close to its limit and the limit has not reset yet.
 * Without a reset time a reading counts for 60 s (OpenAI's windows are a minute at most).
 */
export function nearLimit(limits: ProviderLimits | undefined, now: number): boolean {
  if (!limits) return false;
  const near = (r: LimitReading | undefined, minimum: number) => {
    if (!r || r.remaining === undefined) return false;
    if ((r.resetAt ?? limits.at + 60_000) <= now) return false;
    return r.remaining <= minimum || (r.limit !== undefined && r.limit > 0 && r.remaining / r.limit < NEAR_SHARE);
  };
  return near(limits.requests, NEAR_REQUESTS) || near(limits.tokens, 0);
}
