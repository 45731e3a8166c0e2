/** Turns whatever the openai SDK or the socket threw into a `ProviderCallError` without secrets. */
import { APIConnectionTimeoutError, APIError } from 'openai';
import { openAiError, ProviderCallError, type ErrorClass, type OpenAiErrorBody } from '../../../core/errors';
import { readProviderLimits, type ProviderLimits } from '../../../core/ai/provider-limits';
import { classifyStatus, parseRetryAfter } from '../../../core/ai/retry';

/** Removes anything that looks like a credential from text coming back from a provider. */
export function redactSecrets(text: string): string {
  return text.replace(/\b(sk|pk|rk)-[A-Za-z0-9_*.-]{6,}/g, '$1-[redacted]').replace(/\b[a-f0-9]{32}\b/gi, '[redacted]');
}

const SOCKET_CODES: Record<string, ErrorClass> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  ETIMEDOUT: 'timeout',
  ENOTFOUND: 'connection_error',
  EAI_AGAIN: 'connection_error',
  EHOSTUNREACH: 'connection_error',
  ENETUNREACH: 'connection_error',
};

function socketClass(error: unknown): ErrorClass | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && SOCKET_CODES[code]) return SOCKET_CODES[code];
    current = current.cause;
  }
  return undefined;
}

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

export interface CallContext {
  provider: string;
  timedOut: 'first_byte' | 'idle' | 'total' | undefined;
  clientAborted: boolean;
  now: number;
}

/** Maps an error thrown while calling a provider. */
export function toProviderCallError(error: unknown, ctx: CallContext): ProviderCallError {
  if (error instanceof ProviderCallError) return error;
  if (ctx.timedOut) {
    return new ProviderCallError({ errorClass: 'timeout' }, `${ctx.provider}: ${ctx.timedOut.replace('_', '-')} timeout`, { cause: error });
  }
  if (ctx.clientAborted) return new ProviderCallError({ errorClass: 'aborted' }, `${ctx.provider}: client aborted`, { cause: error });
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
        errorClass: classifyStatus(error.status, body.error.code),
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
