/** Turns whatever the openai SDK or the socket threw into a `ProviderCallError` without secrets. */
import { APIConnectionTimeoutError, APIError } from 'openai';
import { openAiError, ProviderCallError, type OpenAiErrorBody } from '../../../core/errors';
import { readProviderLimits, type ProviderLimits } from '../../../core/ai/provider-limits';
import { classifyStatus, parseRetryAfter } from '../../../core/ai/retry';
import { redactSecrets, socketClass, type CallContext, stoppedByUs } from '../failures';

export { redactSecrets, type CallContext };

function errorBody(error: APIError): OpenAiErrorBody {
  const data = (error.error ?? {}) as Record<string, unknown>;
  const message = typeof data['message'] === 'string' ? data['message'] : `Upstream returned HTTP ${error.status}.`;
  return openAiError(
    redactSecrets(message),
    typeof data['type'] === 'string' ? data['type'] : 'api_error',
    typeof data['code'] === 'string' ? data['code'] : data['code'] == null ? null : String(data['code']),
    typeof data['param'] === 'string' ? data['param'] : null,
  );
}

function limitsOf(error: APIError, now: number): { limits?: ProviderLimits } {
  const limits = readProviderLimits((name) => error.headers?.get(name), now);
  return limits ? { limits } : {};
}

/** Maps an error thrown while calling a provider. */
export function toProviderCallError(error: unknown, ctx: CallContext): ProviderCallError {
  const stopped = stoppedByUs(error, ctx);
  if (stopped) return stopped;
  // The request could not even be built (serialised): the request's fault (or ours), never the provider's.
  if (error instanceof RangeError) {
    return new ProviderCallError(
      {
        errorClass: 'client_error',
        status: 400,
        body: openAiError('The request could not be serialised for the provider.', 'invalid_request_error', 'invalid_request'),
      },
      `${ctx.provider}: request not serialisable`,
      { cause: error },
    );
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const body = errorBody(error);
    return new ProviderCallError(
      {
        errorClass: classifyStatus(error.status, body.error.code, body.error.param),
        status: error.status,
        body,
        retryAfterMs: parseRetryAfter((name) => error.headers?.get(name), ctx.now),
        ...limitsOf(error, ctx.now),
      },
      `${ctx.provider}: HTTP ${error.status}`,
      { cause: error },
    );
  }
  if (error instanceof APIConnectionTimeoutError)
    return new ProviderCallError({ errorClass: 'timeout' }, `${ctx.provider}: timeout`, { cause: error });
  const errorClass = socketClass(error) ?? (error instanceof APIError ? 'connection_error' : 'protocol_error');
  return new ProviderCallError({ errorClass }, `${ctx.provider}: ${errorClass}`, { cause: error });
}
