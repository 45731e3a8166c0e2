import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { redactSecrets, toProviderCallError, type CallContext } from '../../../lambdas/adapters/providers/openai-compatible/error-mapping';
import { ProviderCallError } from '../../../lambdas/core/errors';

const ctx: CallContext = { provider: 'openai', timedOut: undefined, clientAborted: false, now: Date.UTC(2026, 10, 22) };
const socketError = (code: string) => Object.assign(new Error(`socket ${code}`), { code });

describe('toProviderCallError', () => {
  it('maps an HTTP error with its status, OpenAI-shaped body and retry-after', () => {
    const error = APIError.generate(
      429,
      {
        error: {
          message: 'Rate limit reached for sk-abcdefghijklmnop',
          type: 'rate_limit_error',
          code: 'rate_limit_exceeded',
          param: null,
        },
      },
      undefined,
      new Headers({ 'retry-after-ms': '1500' }),
    );
    const mapped = toProviderCallError(error, ctx);
    expect(mapped.failure).toEqual({
      errorClass: 'rate_limited',
      status: 429,
      retryAfterMs: 1500,
      body: {
        error: { message: 'Rate limit reached for sk-[redacted]', type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null },
      },
    });
    expect(mapped.message).not.toContain('sk-abc');
  });

  it('recognises a content filter refusal', () => {
    const error = APIError.generate(
      400,
      { error: { message: 'filtered', type: 'invalid_request_error', code: 'content_filter' } },
      undefined,
      new Headers(),
    );
    expect(toProviderCallError(error, ctx).failure.errorClass).toBe('content_filter');
  });

  it.each([
    ['ECONNREFUSED', 'connection_refused'],
    ['ECONNRESET', 'connection_reset'],
    ['EPIPE', 'connection_reset'],
    ['ETIMEDOUT', 'timeout'],
    ['ENOTFOUND', 'connection_error'],
  ])('maps a socket error %s, however deep in the cause chain, to %s', (code, errorClass) => {
    const error = new APIConnectionError({ cause: new TypeError('fetch failed', { cause: socketError(code) }) });
    expect(toProviderCallError(error, ctx).failure.errorClass).toBe(errorClass);
  });

  it('names our own first-byte or total timeout before anything else', () => {
    expect(toProviderCallError(new Error('aborted'), { ...ctx, timedOut: 'first_byte' })).toMatchObject({
      failure: { errorClass: 'timeout' },
      message: 'openai: first-byte timeout',
    });
    expect(toProviderCallError(new APIConnectionTimeoutError(), ctx).failure.errorClass).toBe('timeout');
  });

  it('tells a client abort apart from a failure', () => {
    expect(toProviderCallError(new Error('aborted'), { ...ctx, clientAborted: true }).failure.errorClass).toBe('aborted');
  });

  it('passes a ProviderCallError through and calls anything else a protocol error', () => {
    const original = new ProviderCallError({ errorClass: 'stream_error' }, 'x');
    expect(toProviderCallError(original, ctx)).toBe(original);
    expect(toProviderCallError(new SyntaxError('bad json'), ctx).failure.errorClass).toBe('protocol_error');
  });
});

describe('redactSecrets', () => {
  it('hides OpenAI-style keys and 32-hex Azure keys', () => {
    expect(redactSecrets('key sk-proj-AbC123xyz789 and 0123456789abcdef0123456789abcdef end')).toBe('key sk-[redacted] and [redacted] end');
    expect(redactSecrets('nothing secret here')).toBe('nothing secret here');
  });

  it('hides Google, Groq and xAI keys, bearer tokens, long hex and opaque keys, AWS access key ids', () => {
    const azure84 = 'A1b2'.repeat(21);
    const text = [
      'AIzaSyA-0123456789abcdefghijklmnopqrstu',
      'gsk_0123456789abcdefABCDEF',
      'xai-0123456789abcdefABCD',
      'Authorization: Bearer eyJhbGciOi.J9abc',
      'a'.repeat(64).replace(/a/g, 'f'),
      azure84,
      'AKIAABCDEFGHIJKLMNOP',
    ].join(' | ');
    expect(redactSecrets(text)).toBe(
      'AIza[redacted] | gsk_[redacted] | xai-[redacted] | Authorization: Bearer [redacted] | [redacted] | [redacted] | AKIA[redacted]',
    );
    // Ordinary words, ids and numbers stay.
    for (const plain of [
      'Invalid value for temperature: 3 (model gpt-4o-mini, request req_abc123)',
      'Basic authentication is not supported; use a Bearer token instead.',
    ])
      expect(redactSecrets(plain)).toBe(plain);
  });
});
