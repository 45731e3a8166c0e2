/**
 * Which upstream failures are worth retrying, and how long to wait before the next attempt
 * (exponential backoff with full jitter, honouring the upstream's own `retry-after`).
 */
import type { ErrorClass, ProviderFailure } from '../errors';
import type { AttemptOutcome } from './ports';
import type { RetryPolicy } from './route-table';

const RETRYABLE: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'timeout',
  'connection_refused',
  'connection_reset',
  'connection_error',
  'rate_limited',
  'server_error',
  'conflict',
  'stream_error',
  'protocol_error',
  // The provider refused the gateway's own credentials: its key is wrong or rotated. Another provider
  // may still answer; the caller's key is not the problem and must never be told it is.
  'auth',
  'forbidden',
  // The edge answers 404 for models no target serves, so a provider's 404 means this target cannot
  // serve what the route table says it does (an Azure deployment missing or renamed, a model retired):
  // another target may.
  'not_found',
]);

/**
 * Failures that may fall back to another target (connection refused/reset, timeouts, 408, 409, 429,
 * 5xx, the provider refusing our credentials, a 404 for what the route table says it serves); the
 * others are the caller's own and go back to it.
 */
export function isRetryable(failure: ProviderFailure): boolean {
  return RETRYABLE.has(failure.errorClass);
}

/**
 * What a failure says about the provider's health: a 429 cools the target, a client's own mistake or
 * departure says nothing, everything else retryable (timeouts, connection failures, 5xx, broken
 * streams) counts against it.
 */
export function healthOutcome(failure: ProviderFailure): AttemptOutcome {
  if (failure.errorClass === 'rate_limited') return { kind: 'rate_limited', retryAfterMs: failure.retryAfterMs };
  if (failure.errorClass === 'aborted' || !isRetryable(failure)) return { kind: 'neutral' };
  return { kind: 'failure', errorClass: failure.errorClass, ...(failure.status !== undefined ? { status: failure.status } : {}) };
}

/**
 * Maps an upstream HTTP status (and OpenAI error code and param) to an error class. A 404 naming a
 * parameter other than the model is about what the caller sent (an `input` item that does not exist):
 * the caller's to see, not a target that cannot serve the request.
 */
export function classifyStatus(status: number, code?: string | null, param?: string | null): ErrorClass {
  if (status === 404 && param && param !== 'model') return 'client_error';
  if (code === 'content_filter' || code === 'content_policy_violation') return 'content_filter';
  if (status === 408) return 'timeout';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  if (status === 400) return 'bad_request';
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 422) return 'unprocessable';
  return 'client_error';
}

/**
 * Delay before retry number `retry` (1 for the first retry): the upstream's requested delay
 * (capped at `maxRetryAfterMs`) when it gave one, otherwise full jitter over
 * `min(maxDelayMs, baseDelayMs * 2^(retry-1))`.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, random: () => number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), policy.maxRetryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Parses `retry-after-ms` (milliseconds) or `retry-after` (seconds or an HTTP date) into
 * milliseconds; `undefined` when absent or unreadable.
 */
export function parseRetryAfter(get: (name: string) => string | null | undefined, nowMs: number): number | undefined {
  const msHeader = get('retry-after-ms');
  if (msHeader) {
    const value = Number(msHeader);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const header = get('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
