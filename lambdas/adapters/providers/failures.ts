/** What every provider adapter's error mapping shares: secrets out of upstream text, socket failures, and calls we stopped ourselves. */
import { ProviderCallError, type ErrorClass } from '../../core/errors';

/**
 * Removes anything that looks like a credential from provider text: OpenAI-style keys (`sk-`, `pk-`,
 * `rk-`), Google (`AIza`), Groq (`gsk_`) and xAI (`xai-`) keys, bearer tokens, hex keys of 32 or more
 * digits, long opaque tokens (Azure's 84-character keys), AWS access key ids.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b(sk|pk|rk)-[A-Za-z0-9_*.-]{6,}/g, '$1-[redacted]')
    .replace(/\b(AIza|gsk_|xai-)[A-Za-z0-9_-]{10,}/g, '$1[redacted]')
    .replace(/\b(Bearer|Basic) [A-Za-z0-9._~+/=-]*[0-9+/=._~-][A-Za-z0-9._~+/=-]*/g, '$1 [redacted]')
    .replace(/\b[a-f0-9]{32,}\b/gi, '[redacted]')
    .replace(/\b[A-Za-z0-9]{64,}\b/g, '[redacted]')
    .replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, '$1[redacted]');
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

/** The error class of a socket failure anywhere in the error's cause chain, if it is one. */
export function socketClass(error: unknown): ErrorClass | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && SOCKET_CODES[code]) return SOCKET_CODES[code];
    current = current.cause;
  }
  return undefined;
}

/** Which of a call's own timeouts ended it. */
export type TimedOut = 'first_byte' | 'idle' | 'total';

export interface CallContext {
  provider: string;
  timedOut: TimedOut | undefined;
  clientAborted: boolean;
  now: number;
}

/**
 * The error as it stands when the failure is already known (a `ProviderCallError`), or when the
 * gateway stopped the call itself: a timeout it set, or the client leaving. `undefined` otherwise.
 */
export function stoppedByUs(error: unknown, ctx: CallContext): ProviderCallError | undefined {
  if (error instanceof ProviderCallError) return error;
  if (ctx.timedOut) {
    return new ProviderCallError({ errorClass: 'timeout' }, `${ctx.provider}: ${ctx.timedOut.replace('_', '-')} timeout`, { cause: error });
  }
  if (ctx.clientAborted) return new ProviderCallError({ errorClass: 'aborted' }, `${ctx.provider}: client aborted`, { cause: error });
  return undefined;
}
