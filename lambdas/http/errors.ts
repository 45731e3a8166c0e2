/**
 * Error bodies: OpenAI's shape everywhere except the legacy `/api/*` endpoints, which keep the
 * Huntaze shape (`../shared/contracts/legacy-api.md`). The only place that maps errors to HTTP.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { OpenAiErrorBody } from '../core/errors';

export interface ErrorSpec {
  message: string;
  type: string;
  code: string | null;
  param?: string | null;
  retryAfterSeconds?: number;
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

export function errorResponse(c: Context, status: number, spec: ErrorSpec): Response {
  if (spec.retryAfterSeconds !== undefined) c.header('retry-after', String(spec.retryAfterSeconds));
  // For the request's log line (and the critical-alert rules, which tell a store outage from a busy key).
  c.set('errorCode', spec.code);
  return c.json(errorBody(c.req.path, status, spec), status as ContentfulStatusCode);
}

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
  return error.name === 'TimeoutError' || (typeof code === 'string' && NETWORK_CODES.has(code));
}
