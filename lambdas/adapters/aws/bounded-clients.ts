/**
 * Every AWS SDK call ends within its timeout. `@smithy/node-http-handler` only logs a warning when a
 * request passes its `requestTimeout` unless told to throw; and the SDK's retries add up. So each
 * client gets a handler that throws at the per-attempt timeout (and logs nothing of its own), and
 * the whole call, retries included, is bounded one of two ways:
 * - SNS, SQS, Secrets Manager: every `send` carries an abort signal (`boundSends`);
 * - DynamoDB: two attempts with a fixed pause, sized to fit the budget (`attemptBoundedConfig`). Its
 *   sends carry no options, which is what lets a client reuse its resolved handler stack
 *   (`cacheMiddleware`, see `item-writes.ts`).
 *
 * A request abandoned at its deadline must not be carried out later. DynamoDB applies a request on
 * receipt, well within the call's timeout; a local engine that stalls (a paused process) would instead
 * run it whenever it resumes, so local requests carry their deadline (`x-local-deadline`) and the
 * local engine drops those that arrive too late (see `lambdas/local/dynamodb-local.ts`).
 */
import { getUserAgentMiddlewareOptions, userAgentMiddleware } from '@aws-sdk/core/client';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** The header a local engine reads to drop a request whose caller has given up on it. */
export const LOCAL_DEADLINE_HEADER = 'x-local-deadline';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The `logger` every AWS SDK client gets. The SDK's logger middleware builds a redacted copy of each
 * call's input and output (walking the operation's schema) whenever its logger has an `info` method,
 * which the default no-op logger has, and only then hands it over: measurable CPU on every call (see
 * the README's profile). This logger has no `info`, so that work is skipped; the gateway logs failed
 * calls itself, with their cause.
 */
export const sdkLogger = { trace: () => undefined, debug: () => undefined, warn: () => undefined, error: () => undefined } as unknown as {
  debug: (...content: unknown[]) => void;
  info: (...content: unknown[]) => void;
  warn: (...content: unknown[]) => void;
  error: (...content: unknown[]) => void;
};

/**
 * A request handler whose attempts each end within `attemptMs` (connection included), logging nothing
 * itself. The request timeout stops once the answer's headers arrive; the socket timeout covers the
 * body read after them (an answer that stalls midway is destroyed after `attemptMs` without a byte).
 */
export function boundedHandler(attemptMs: number): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: attemptMs,
    requestTimeout: attemptMs,
    socketTimeout: attemptMs,
    throwOnRequestTimeout: true,
    logger: silent,
  });
}

/** The configuration every AWS SDK client gets: two attempts of at most `attemptMs` each, and the quiet logger. */
export function boundedConfig(region: string, attemptMs: number) {
  return { region, maxAttempts: 2, requestHandler: boundedHandler(attemptMs), logger: sdkLogger };
}

/** The pause between the two attempts of an attempt-bounded call. */
export const RETRY_PAUSE_MS = 25;

/**
 * At most two attempts, `RETRY_PAUSE_MS` apart whatever the error says: the SDK would otherwise
 * stretch the pause to a `Retry-After` hint (up to 5 s more) or to its throttling backoff.
 * Which errors are retried, and the retry quota, stay the SDK's.
 */
class FixedPauseRetry extends ConfiguredRetryStrategy {
  constructor() {
    super(2, RETRY_PAUSE_MS);
  }

  override refreshRetryTokenForRetry(...[token, errorInfo]: Parameters<ConfiguredRetryStrategy['refreshRetryTokenForRetry']>) {
    const { retryAfterHint: _ignored, ...withoutHint } = errorInfo;
    return super.refreshRetryTokenForRetry(token, withoutHint);
  }
}

/**
 * A configuration whose calls end within `totalMs` with nothing passed to `send`: two attempts of
 * `(totalMs - RETRY_PAUSE_MS) / 2` each (connection included) and the fixed pause between them.
 */
export function attemptBoundedConfig(region: string, totalMs: number) {
  const attemptMs = Math.floor((totalMs - RETRY_PAUSE_MS) / 2);
  return { region, retryStrategy: new FixedPauseRetry(), requestHandler: boundedHandler(attemptMs), logger: sdkLogger };
}

/**
 * One attempt of at most `totalMs`, for a write that must not be applied twice: the SDK retries a
 * timeout, and an attempt whose answer was lost may already have been applied.
 */
export function singleAttemptConfig(region: string, totalMs: number) {
  return { region, maxAttempts: 1, requestHandler: boundedHandler(totalMs), logger: sdkLogger };
}

interface SendingClient {
  send: (...args: never[]) => unknown;
  middlewareStack: { add: (middleware: never, options: never) => void };
}

/** Makes every `send` of `client` abort after `totalMs` (all attempts together), unless the caller passes its own signal. */
export function boundSends<C extends SendingClient>(client: C, totalMs: number): C {
  const send = (client.send as (command: unknown, options?: Record<string, unknown>) => unknown).bind(client);
  (client as { send: unknown }).send = (command: unknown, sendOptions?: Record<string, unknown>) =>
    send(command, { abortSignal: AbortSignal.timeout(totalMs), ...sendOptions });
  return client;
}

/**
 * Every call of `client` tells a local engine when its caller gives up on it (`totalMs` after the
 * call starts; the header is set once per call, before the retries).
 */
export function stampLocalDeadline<C extends Pick<SendingClient, 'middlewareStack'>>(client: C, totalMs: number): C {
  const stamp =
    (next: (args: { request: { headers: Record<string, string> } }) => unknown) =>
    (args: { request: { headers: Record<string, string> } }) => {
      args.request.headers[LOCAL_DEADLINE_HEADER] = String(Date.now() + totalMs);
      return next(args);
    };
  (client.middlewareStack.add as (m: unknown, o: unknown) => void)(stamp, { step: 'build', name: 'localDeadline' });
  return client;
}

type Handler = (args: { request: unknown }) => Promise<unknown>;

/** The headers the SDK's user-agent middleware writes on Node. */
const USER_AGENT_HEADERS = ['user-agent', 'x-amz-user-agent'] as const;

/**
 * Sends every call of `client` with the user-agent headers its first call had. The SDK's middleware
 * escapes and joins the headers' parts again on every call (3-4% of a DynamoDB call's CPU, measured
 * against dynalite); calls differ in them only by the SDK features each used, which AWS collects for
 * its statistics. The first call runs the SDK's own middleware, later ones reuse what it wrote.
 */
export function oneUserAgent<C extends { config: unknown; middlewareStack: { add: (middleware: never, options: never) => void } }>(
  client: C,
): C {
  const sdk = userAgentMiddleware(client.config as Parameters<typeof userAgentMiddleware>[0]) as unknown as (
    next: Handler,
    context: unknown,
  ) => Handler;
  let written: Array<[string, string]> | undefined;
  const middleware =
    (next: Handler, context: unknown): Handler =>
    async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers;
      if (written && headers) {
        for (const [name, value] of written) headers[name] = value;
        return next(args);
      }
      return sdk(async (built) => {
        const wrote = (built.request as { headers?: Record<string, string> }).headers ?? {};
        const found = USER_AGENT_HEADERS.flatMap((name) => (wrote[name] === undefined ? [] : [[name, wrote[name]] as [string, string]]));
        // Kept once the SDK wrote them (it writes none on a request that is not HTTP: the next call asks again).
        if (found.length > 0) written ??= found;
        return next(built);
      }, context)(args);
    };
  (client.middlewareStack.add as (m: unknown, o: unknown) => void)(middleware, { ...getUserAgentMiddlewareOptions, override: true });
  return client;
}
