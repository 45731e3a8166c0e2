/**
 * A started upstream stream as the client sees it: the `data` payloads of OpenAI chunk events, the
 * usage-only chunk hidden from clients that did not ask for it, and a terminal event (`[DONE]`, or an
 * OpenAI error body when the provider failed mid-way, never a silent end). Whatever ends the stream
 * (its end, an upstream failure, the client leaving) finishes the request's record exactly once,
 * with the provider's usage or, for an answer cut short, the tokens sent and delivered.
 */
import type { BackgroundTasks } from '../background';
import { openAiError, ProviderCallError, type OpenAiErrorBody } from '../errors';
import type { AiSummary, RequestRecord } from '../request-record';
import type { StartedStream } from './orchestrator';
import type { TokenEstimator, Usage } from './ports';
import { responsesDeltaText, responsesEventType } from './responses-events';
import { deltaText, estimatedUsage } from './token-estimate';
import { usageOf } from './usage';

/** The client's view of a stream: iterate for `data` payloads; `cancel` when the client goes away. */
export interface AnswerStream extends AsyncIterable<string> {
  cancel(): void;
}

export interface AnswerStreamContext {
  record: RequestRecord;
  /** The body sent upstream (a cut stream's prompt is estimated from it). */
  requestBody: Record<string, unknown>;
  clientWantsUsage: boolean;
  signal: AbortSignal;
  tokens: TokenEstimator;
  background: BackgroundTasks;
  /** Told the usage once the stream ended with one (from the provider or estimated). */
  onUsage?: (usage: Usage) => void;
  /** Aborted when the process stops: the stream ends at once with an error event. */
  shutdown?: AbortSignal;
  /**
   * Given every chunk of a stream that ended normally (`[DONE]`, hidden usage chunk included), for
   * the response cache. Not called for a stream cut short, or one longer than `MAX_KEPT_BYTES`.
   */
  onComplete?: (chunks: string[]) => void;
  /**
   * `responses`: Responses API events, which end with their final response event (no `[DONE]`) and
   * report a failure as an `error` event (`{type: "error", code, message, param}`). Default `chat`.
   */
  format?: 'chat' | 'responses';
}

/** Longest stream kept for `onComplete` (a cache entry must fit in one DynamoDB item once compressed). */
const MAX_KEPT_BYTES = 2 * 1024 * 1024;

/** What ends a stream cut short because the gateway is stopping. */
const SHUTDOWN_ERROR = openAiError(
  'The gateway is shutting down; the answer is incomplete. Retry the request.',
  'service_unavailable',
  'server_shutting_down',
);

/** `"usage":null` as a member of a chunk object (inside a string its quotes would be escaped). */
const USAGE_NULL = /,"usage":null(?=[,}])|"usage":null,/;

/** The terminal event of a stream that ended normally. */
export const DONE = '[DONE]';

export function openAnswerStream(started: StartedStream, context: AnswerStreamContext): AnswerStream {
  const { record, requestBody, clientWantsUsage, signal, tokens, background } = context;
  const responses = context.format === 'responses';
  /** The failure event in the stream's own format. */
  // Responses events are numbered; the error event the gateway adds follows the last one seen.
  let sequence = -1;
  const noteSequence = (data: string) => {
    const n = responses ? /"sequence_number":(\d+)/.exec(data)?.[1] : undefined;
    if (n !== undefined) sequence = Math.max(sequence, Number(n));
  };
  const errorEvent = (body: OpenAiErrorBody) =>
    responses
      ? JSON.stringify({
          type: 'error',
          code: body.error.code,
          message: body.error.message,
          param: body.error.param,
          sequence_number: sequence + 1,
        })
      : JSON.stringify(body);
  const ai = record.ai!;
  let usage: Usage | undefined = noteUsage(started.first, undefined);
  const deliveredBy = responses ? responsesDeltaText : deltaText;
  let delivered = deliveredBy(started.first);
  /** A Responses stream's final event was `response.failed`: the provider ended the answer as a failure. */
  let providerFailed = false;
  let ended = false;
  let kept: string[] | undefined = context.onComplete ? [started.first] : undefined;
  let keptBytes = started.first.length;
  let onAbort: (() => void) | undefined;

  const finish = (outcome: AiSummary['outcome'], status: number, errorClass: string | null) => {
    if (ended) return;
    ended = true;
    if (onAbort) signal.removeEventListener('abort', onAbort);
    ai.outcome = outcome;
    ai.errorClass = errorClass;
    if (usage) {
      ai.usage = usage;
      ai.usageSource = 'provider';
      context.onUsage?.(usage);
      record.finish(status);
      return;
    }
    // Cut before the usage chunk (client gone, upstream failed): count what was sent and delivered,
    // after the response, since loading the tokenizer the first time takes a moment.
    background.track(
      (async () => {
        ai.usage = estimatedUsage(requestBody, delivered, tokens, responses ? 'responses' : 'chat');
        ai.usageSource = 'estimated';
        context.onUsage?.(ai.usage);
        record.finish(status);
      })(),
    );
  };
  /** The usage-only chunk the gateway asked for on the client's behalf. */
  const hidden = (data: string) => !clientWantsUsage && data.includes('"usage":{') && /"choices"\s*:\s*\[\s*\]/.test(data);
  /** OpenAI sends `usage` in chunks only with `include_usage`: the `"usage":null` the provider added for the gateway goes. */
  const visible = (data: string) => (clientWantsUsage || !data.includes('"usage":null') ? data : data.replace(USAGE_NULL, ''));

  const stopping = context.shutdown
    ? new Promise<'shutdown'>((resolve) => {
        if (context.shutdown!.aborted) resolve('shutdown');
        else context.shutdown!.addEventListener('abort', () => resolve('shutdown'), { once: true });
      })
    : undefined;

  async function* events(): AsyncGenerator<string> {
    noteSequence(started.first);
    yield visible(started.first);
    try {
      for (;;) {
        const pending = started.rest.next();
        // Cut by a shutdown, the upstream read still settles later: nothing is left unhandled.
        if (stopping) pending.catch(() => undefined);
        const next = stopping ? await Promise.race([pending, stopping]) : await pending;
        if (next === 'shutdown') {
          started.cancel();
          finish('stream_error', 200, 'shutdown');
          yield errorEvent(SHUTDOWN_ERROR);
          return;
        }
        if (next.done) {
          if (providerFailed) {
            // The provider ended the answer as failed: its attempt counts as a failure (metrics, breaker, alarm).
            const answering = ai.attempts.findLast((a) => a.outcome === 'success');
            if (answering) Object.assign(answering, { outcome: 'failed', errorClass: 'upstream_failed' });
            finish('stream_error', 200, 'upstream_failed');
          } else finish('ok', 200, null);
          if (kept) context.onComplete?.(kept);
          if (!responses) yield DONE;
          return;
        }
        usage = noteUsage(next.value, usage);
        noteSequence(next.value);
        if (responses && next.value.includes('"response.failed"')) providerFailed = responsesEventType(next.value) === 'response.failed';
        if (kept) {
          keptBytes += next.value.length;
          if (keptBytes > MAX_KEPT_BYTES) kept = undefined;
          else kept.push(next.value);
        }
        if (hidden(next.value)) continue;
        delivered += deliveredBy(next.value);
        yield visible(next.value);
      }
    } catch (error) {
      if (signal.aborted) {
        finish('client_closed', 499, 'aborted');
        return;
      }
      // Headers are gone: the failure reaches the client as an error event, never as a silent end.
      const errorClass = error instanceof ProviderCallError ? error.failure.errorClass : 'protocol_error';
      const failureBody: OpenAiErrorBody =
        error instanceof ProviderCallError && error.failure.body
          ? error.failure.body
          : openAiError(`The provider stream failed (${errorClass}); the answer is incomplete.`, 'api_error', 'stream_interrupted');
      // The provider that answered failed it: its attempt is a failure (ProviderErrors, the error-rate alarm).
      const answering = ai.attempts.findLast((a) => a.outcome === 'success');
      if (answering) Object.assign(answering, { outcome: 'failed', errorClass });
      finish('stream_error', 200, errorClass);
      yield errorEvent(failureBody);
    }
  }

  const iterator = events();
  const cancel = () => {
    started.cancel();
    finish('client_closed', 499, 'aborted');
  };
  // The client left before the server ever pulled or cancelled the stream: its request still ends.
  if (signal.aborted) cancel();
  else {
    onAbort = cancel;
    signal.addEventListener('abort', cancel, { once: true });
  }
  return { [Symbol.asyncIterator]: () => iterator, cancel };
}

/** Keeps the latest `usage` seen in the stream (the final chunk when `include_usage` is on). */
function noteUsage(data: string, current: Usage | undefined): Usage | undefined {
  if (!data.includes('"usage":{')) return current;
  try {
    return usageOf(JSON.parse(data)) ?? current;
  } catch {
    return current;
  }
}
