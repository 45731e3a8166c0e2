/**
 * Error bodies: OpenAI's shape everywhere except the legacy `/api/*` endpoints, which keep the
 * Huntaze shape (`docs/legacy-api.md`). The only place that maps errors to HTTP statuses and bodies.
 */
import type { SelectionResult } from '../core/ai/smart-routing';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { failureClass, type RouteFailure } from '../core/ai/orchestrator';
import type { OpenAiErrorBody, ProviderFailure } from '../core/errors';
import type { AppEnv } from './context';

export interface ErrorSpec {
  message: string;
  type: string;
  code: string | null;
  param?: string | null;
  retryAfterSeconds?: number;
  /**
   * Retrying soon cannot help (a spent quota or budget, a window that resets in hours): sent as
   * `x-should-retry: false`, which the official SDKs obey instead of sleeping until `Retry-After`.
   */
  noRetry?: boolean;
  /** The legacy code when the status alone does not decide it (429 is `RATE_LIMITED` or `QUOTA_EXCEEDED`). */
  legacyCode?: string;
}

const LEGACY_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'BAD_REQUEST',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED',
  502: 'UPSTREAM_ERROR',
  503: 'UNAVAILABLE',
  504: 'UPSTREAM_ERROR',
  500: 'INTERNAL',
};

export function isLegacyPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/** The body for an error on `path`, in the shape that path's clients expect. */
export function errorBody(path: string, status: number, spec: ErrorSpec): unknown {
  if (isLegacyPath(path)) {
    return {
      error: {
        code: spec.legacyCode ?? LEGACY_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'),
        message: spec.message,
        ...(spec.param ? { field: spec.param } : {}),
        ...(spec.retryAfterSeconds !== undefined ? { retryAfterSeconds: spec.retryAfterSeconds } : {}),
      },
    };
  }
  const body: OpenAiErrorBody = { error: { message: spec.message, type: spec.type, param: spec.param ?? null, code: spec.code } };
  // Retry timing in the body too, for clients that do not read headers (an extra field OpenAI's schema allows).
  return spec.retryAfterSeconds === undefined ? body : { error: { ...body.error, retry_after_seconds: spec.retryAfterSeconds } };
}

export function errorResponse(c: Context<AppEnv>, status: number, spec: ErrorSpec): Response {
  if (spec.retryAfterSeconds !== undefined) c.header('retry-after', String(spec.retryAfterSeconds));
  if (spec.noRetry) c.header('x-should-retry', 'false');
  // For the request's log line (and the critical-alert rules, which tell a store outage from a busy key).
  c.var.record.errorCode = spec.code;
  return c.json(errorBody(c.req.path, status, spec), status as ContentfulStatusCode);
}

function lastError(last: ProviderFailure | undefined): string {
  return last ? `${last.errorClass}${last.status ? ` (HTTP ${last.status})` : ''}` : '';
}

/**
 * The answer to a request no provider answered, on the OpenAI API: 499 for a departed client, the
 * provider's own status and error for a request it refused, 504 for a deadline or timeouts, 503 when
 * the last provider was unreachable or rate limited (or none is configured), 502 otherwise.
 */
export function routeFailureAnswer(failure: RouteFailure): { status: number; spec: ErrorSpec } {
  switch (failure.reason) {
    case 'client_gone':
      return {
        status: 499,
        spec: { message: 'The client closed the request.', type: 'invalid_request_error', code: 'client_closed_request' },
      };
    case 'unsupported': {
      const what = failure.operation === 'responses' ? 'the Responses API' : failure.operation;
      return {
        status: 400,
        spec: {
          message: `No provider this request can be routed to serves ${what} (${failure.providers.join(', ')} do not).`,
          type: 'invalid_request_error',
          code: 'unsupported_operation',
          param: null,
        },
      };
    }
    case 'rejected': {
      const { status = 400, body, errorClass } = failure.failure;
      const error = body?.error ?? {
        message: `The provider rejected the request (${errorClass}).`,
        type: 'invalid_request_error',
        code: errorClass,
        param: null,
      };
      return { status, spec: { message: error.message, type: error.type, code: error.code, param: error.param } };
    }
    case 'deadline': {
      const detail = failure.last ? ` Last error: ${lastError(failure.last)}.` : '';
      return {
        status: 504,
        spec: {
          message: `The request ran out of time before any provider answered.${detail}`,
          type: 'timeout_error',
          code: 'deadline_exceeded',
        },
      };
    }
    case 'unavailable':
      return {
        status: 503,
        spec: {
          message:
            'Every provider for this task is out of rotation (circuit open, rate limited or taken down); retry after the time given.',
          type: 'service_unavailable',
          code: 'upstream_unavailable',
          retryAfterSeconds: Math.max(1, Math.ceil(failure.retryAfterMs / 1000)),
        },
      };
    case 'exhausted': {
      const last = failure.last;
      if (!last)
        return {
          status: 503,
          spec: { message: 'No provider is configured for this task.', type: 'service_unavailable', code: 'no_provider_configured' },
        };
      // A provider refusing the gateway's credentials is the gateway's problem, never the caller's key.
      const message =
        last.errorClass === 'auth' || last.errorClass === 'forbidden'
          ? "All providers failed; the last one refused the gateway's own credentials (an operator has been alerted)."
          : `All providers failed; last error: ${lastError(last)}.`;
      if (last.errorClass === 'timeout') return { status: 504, spec: { message, type: 'timeout_error', code: 'upstream_timeout' } };
      if (last.errorClass === 'rate_limited' || last.errorClass.startsWith('connection_')) {
        return { status: 503, spec: { message, type: 'service_unavailable', code: 'upstream_unavailable' } };
      }
      return { status: 502, spec: { message, type: 'api_error', code: 'upstream_error' } };
    }
  }
}

/**
 * The legacy endpoints answer a provider failure with 502 `UPSTREAM_ERROR`, as they always have; when
 * every target is out of rotation, with 503 `UNAVAILABLE` and the time to retry.
 */
export function legacyRouteFailureAnswer(failure: RouteFailure): { status: number; spec: ErrorSpec } {
  if (failure.reason === 'unavailable') return routeFailureAnswer(failure);
  return {
    status: 502,
    spec: {
      message: `The AI provider could not answer (${failureClass(failure)}). Retry later; quote the requestId when reporting it.`,
      type: 'upstream_error',
      code: 'upstream_error',
    },
  };
}

/** OpenAI's answer for a model that does not exist (or that this gateway cannot reach). */
export const modelNotFound = (model: string): ErrorSpec => ({
  message: `The model '${model}' does not exist. GET /v1/models lists the models (and task aliases) this gateway serves.`,
  type: 'invalid_request_error',
  code: 'model_not_found',
  param: 'model',
});

export const badRequest = (message: string, param: string | null, code: string | null = 'invalid_request'): ErrorSpec => ({
  message,
  type: 'invalid_request_error',
  code,
  param,
});

/** `messages[0].content` from a zod issue path. */
export function paramFromPath(path: ReadonlyArray<PropertyKey>): string | null {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || null;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * True for failures of a storage dependency (an AWS SDK service or network error, a timeout): the
 * caller should retry, so they are a 503, not a 500.
 */
export function isDependencyFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const meta = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (meta !== undefined) return meta.httpStatusCode === undefined || meta.httpStatusCode >= 500 || error.name.includes('Throttl');
  const code = (error as { code?: unknown }).code;
  return error.name === 'TimeoutError' || error.name === 'AbortError' || (typeof code === 'string' && NETWORK_CODES.has(code));
}

/**
 * Smart routing found no target: a 400 naming the constraint no target meets and the closest
 * alternative, or a 503 when every target it may use is down.
 */
export function unroutableAnswer(refusal: Extract<SelectionResult, { ok: false }>): { status: 400 | 503; spec: ErrorSpec } {
  if (refusal.constraint === 'availability')
    return {
      status: 503,
      spec: { message: refusal.message, type: 'service_unavailable', code: 'no_route_available', retryAfterSeconds: 5 },
    };
  return {
    status: 400,
    spec: { message: refusal.message, type: 'invalid_request_error', code: 'routing_constraint_unsatisfiable', param: refusal.constraint },
  };
}
