/**
 * Bedrock's exceptions as `ProviderCallError`s: throttling and exceeded quotas are 429s with retry
 * timing (Bedrock sends no `retry-after`, so a default applies unless it does), model timeouts 408s,
 * models not ready, unavailable or failing, and internal errors, 5xx that fall back; validation a 400
 * for the caller; denied access and unknown models fall back (the gateway's role or route table is at
 * fault, not the caller). Matched by name, so this module loads without the SDK.
 */
import { openAiError, ProviderCallError, type ErrorClass } from '../../../core/errors';
import { classifyStatus, parseRetryAfter } from '../../../core/ai/retry';
import { redactSecrets, socketClass, stoppedByUs, type CallContext } from '../failures';

/** How long a throttled target cools when Bedrock names no delay: its quotas are per minute, and another target can answer meanwhile. */
export const DEFAULT_THROTTLE_RETRY_MS = 2000;

const EXCEPTIONS: Record<string, { errorClass: ErrorClass; status: number; type: string }> = {
  ThrottlingException: { errorClass: 'rate_limited', status: 429, type: 'rate_limit_error' },
  ServiceQuotaExceededException: { errorClass: 'rate_limited', status: 429, type: 'rate_limit_error' },
  ModelTimeoutException: { errorClass: 'timeout', status: 408, type: 'timeout_error' },
  ModelNotReadyException: { errorClass: 'server_error', status: 503, type: 'api_error' },
  ServiceUnavailableException: { errorClass: 'server_error', status: 503, type: 'api_error' },
  InternalServerException: { errorClass: 'server_error', status: 500, type: 'api_error' },
  ModelErrorException: { errorClass: 'server_error', status: 502, type: 'api_error' },
  ModelStreamErrorException: { errorClass: 'stream_error', status: 502, type: 'api_error' },
  ValidationException: { errorClass: 'bad_request', status: 400, type: 'invalid_request_error' },
  AccessDeniedException: { errorClass: 'forbidden', status: 403, type: 'permission_error' },
  UnrecognizedClientException: { errorClass: 'auth', status: 401, type: 'authentication_error' },
  ResourceNotFoundException: { errorClass: 'not_found', status: 404, type: 'invalid_request_error' },
  ConflictException: { errorClass: 'conflict', status: 409, type: 'api_error' },
};

/** Bedrock's validation messages for a model id it cannot run as configured. */
const MODEL_NOT_USABLE = /model identifier is invalid|on-demand throughput isn.t supported|inference profile/i;

const snake = (name: string) =>
  name
    .replace(/Exception$/, '')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();

/** Maps an error thrown by the Bedrock runtime client (or its socket) while calling `ctx.provider`. */
export function bedrockCallError(error: unknown, ctx: CallContext): ProviderCallError {
  const stopped = stoppedByUs(error, ctx);
  if (stopped) return stopped;
  const name = error instanceof Error ? error.name : '';
  // A model id or inference profile this account or region cannot use comes as a validation error: it
  // is the route table's mistake, not the caller's, and another target may serve the request.
  const misrouted = name === 'ValidationException' && MODEL_NOT_USABLE.test((error as Error).message);
  const known = misrouted ? EXCEPTIONS['ResourceNotFoundException'] : EXCEPTIONS[name];
  if (known) {
    const response = (error as { $response?: { headers?: Record<string, string | undefined> } }).$response;
    const retryAfterMs =
      known.errorClass === 'rate_limited'
        ? (parseRetryAfter((header) => response?.headers?.[header], ctx.now) ?? DEFAULT_THROTTLE_RETRY_MS)
        : undefined;
    return new ProviderCallError(
      {
        errorClass: known.errorClass,
        status: known.status,
        body: openAiError(redactSecrets((error as Error).message || name), known.type, snake(name)),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      },
      `${ctx.provider}: ${name}`,
      { cause: error },
    );
  }
  // Another service error (a proxy's, an exception newer than this table): its HTTP status says enough.
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400) {
    return new ProviderCallError(
      {
        errorClass: classifyStatus(status),
        status,
        body: openAiError(redactSecrets((error as Error).message || name), 'api_error', snake(name)),
      },
      `${ctx.provider}: HTTP ${status} ${name}`,
      { cause: error },
    );
  }
  const errorClass = socketClass(error) ?? (name === 'TimeoutError' ? 'timeout' : 'protocol_error');
  return new ProviderCallError({ errorClass }, `${ctx.provider}: ${errorClass}`, { cause: error });
}
