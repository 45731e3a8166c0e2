/**
 * Domain errors, all extending `GatewayError` and keeping their `cause`. Only the HTTP layer turns
 * them into status codes and bodies; raw errors are never serialised to callers.
 */
import type * as z from 'zod';
import type { ProviderLimits } from './ai/provider-limits';

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** What kind of failure an upstream call ended with; drives retry/fallback and the logs. */
export type ErrorClass =
  | 'timeout'
  | 'connection_refused'
  | 'connection_reset'
  | 'connection_error'
  | 'rate_limited'
  | 'server_error'
  | 'conflict'
  | 'bad_request'
  | 'auth'
  | 'forbidden'
  | 'not_found'
  | 'unprocessable'
  | 'content_filter'
  | 'client_error'
  | 'stream_error'
  | 'protocol_error'
  | 'aborted';

/** Base class of the gateway's own errors. */
export class GatewayError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface ProviderFailure {
  errorClass: ErrorClass;
  /** Upstream HTTP status when there was one. */
  status?: number;
  /** Delay the upstream asked for (`retry-after-ms` / `retry-after`). */
  retryAfterMs?: number;
  /** The upstream's error body, already in OpenAI shape, when it sent one. */
  body?: OpenAiErrorBody;
  /** The provider's own rate limits, when the failed response reported them. */
  limits?: ProviderLimits;
}

/** A configuration document or variable is invalid; the message names every offending field. */
export class ConfigError extends GatewayError {}

/** A value a caller sent, as an error message may quote it: at most `max` characters, cut ones marked with an ellipsis. */
export function echoed(value: string, max = 64): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

/** One line naming every problem zod found: `path.to.field: message; ...` (`(root)` for the document itself). */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** A call to a provider failed; `failure` says how, without any secret. */
export class ProviderCallError extends GatewayError {
  constructor(
    readonly failure: ProviderFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The request is invalid; `param` names the offending field. */
export class ValidationError extends GatewayError {
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An error as a log field: its name, message, code (`ECONNREFUSED`, `ETIMEDOUT`...), the AWS request id
 * and HTTP status where the SDK gives them, and its causes (two levels). Never a stack trace.
 */
export function errorFields(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: typeof error, message: String(error) };
  const meta = (error as { $metadata?: { requestId?: string; httpStatusCode?: number } }).$metadata;
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(meta?.requestId ? { awsRequestId: meta.requestId } : {}),
    ...(meta?.httpStatusCode ? { httpStatus: meta.httpStatusCode } : {}),
    ...(error.cause !== undefined && depth < 2 ? { cause: errorFields(error.cause, depth + 1) } : {}),
  };
}

/** Builds an OpenAI-shaped error body. */
export function openAiError(message: string, type: string, code: string | null = null, param: string | null = null): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}
