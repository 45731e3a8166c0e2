/**
 * `ChatProvider` on the official openai SDK, for OpenAI (or any OpenAI-compatible base URL) and for
 * Azure OpenAI (`AzureOpenAI`): chat completions, embeddings and the Responses API. The SDK's own retries are off: the orchestrator owns retries.
 * Connect timeout comes from the connection pool; first-byte, idle and total timeouts abort the call.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type OpenAI from 'openai';
import { ProviderCallError, openAiError } from '../../../core/errors';
import type { ChatProvider, ProviderCall, ProviderCompletion, ProviderOperation, ProviderStream } from '../../../core/ai/ports';
import { readProviderLimits } from '../../../core/ai/provider-limits';
import { FINAL_RESPONSE_EVENTS, responsesEventType } from '../../../core/ai/responses-events';
import { usageOf } from '../../../core/ai/usage';
import type { ProviderId } from '../../../core/ai/route-table';
import { redactSecrets, toProviderCallError } from './error-mapping';
import { eachSseEvent, type SseEvent } from './sse';
import { ConnectionPool, HttpResponse, httpFetch } from './http-fetch';
import { CallControl, EventQueue } from '../call-control';

type FetchOptions = NonNullable<Parameters<OpenAI['chat']['completions']['create']>[1]>['fetchOptions'];

/** Connection pools per connect timeout, shared by every client in the process. */
const pools = new Map<number, ConnectionPool>();
function poolFor(connectMs: number): ConnectionPool {
  let pool = pools.get(connectMs);
  if (!pool) {
    pool = new ConnectionPool(connectMs);
    pools.set(connectMs, pool);
  }
  return pool;
}

/** The fetch the SDK clients use: on Node's http/https, so the pools apply and bodies stay Node streams. */
export const providerFetch = httpFetch as unknown as typeof globalThis.fetch;

/**
 * Hands each event of a response's body to `onEvent`: straight from the socket's Node stream when the
 * response came from `httpFetch` (always, in the gateway), else from its WHATWG body. Rejects as
 * `eachSseEvent` does.
 */
function eachEvent(response: Response, onEvent: (event: SseEvent) => void): Promise<void> {
  const body = response instanceof HttpResponse ? response.chunks() : Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
  return eachSseEvent(body, onEvent);
}

/** A `ProviderCallError` for whatever the SDK or the socket threw, with the reason the call was aborted. */
function failure(control: CallControl, error: unknown, provider: string): ProviderCallError {
  return toProviderCallError(error, control.context(provider));
}

export class OpenAiSdkProvider implements ChatProvider {
  constructor(
    readonly id: ProviderId,
    private readonly client: OpenAI,
    /** Operations besides chat this endpoint serves (default: embeddings and the Responses API). */
    private readonly operations: ReadonlySet<ProviderOperation> = new Set(['embeddings', 'responses']),
  ) {}

  supports(operation: ProviderOperation): boolean {
    return operation === 'chat' || this.operations.has(operation);
  }

  private request(call: ProviderCall, control: CallControl, stream: boolean): Promise<Response> {
    const options = {
      signal: control.controller.signal,
      maxRetries: 0,
      timeout: call.timeouts.totalMs,
      // Our fetch (httpFetch) takes the connection pool as `pool`; the SDK's RequestInit type does not declare it.
      fetchOptions: { pool: poolFor(call.timeouts.connectMs) } as unknown as FetchOptions,
    };
    if (call.operation === 'embeddings') {
      // `encoding_format` is always set by the route, so the SDK sends the body as it is and never decodes it.
      const body = { ...call.body, model: call.upstreamModel } as unknown as OpenAI.EmbeddingCreateParams;
      return this.client.embeddings.create(body, options).asResponse();
    }
    if (call.operation === 'responses') {
      // The body passes through as the client sent it: `stream` is added only to stream.
      const body = {
        ...call.body,
        model: call.upstreamModel,
        ...(stream ? { stream } : {}),
      } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming;
      return this.client.responses.create(body, options).asResponse();
    }
    const body = { ...call.body, model: call.upstreamModel, stream } as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
    return this.client.chat.completions.create(body, options).asResponse();
  }

  async complete(call: ProviderCall): Promise<ProviderCompletion> {
    const control = new CallControl(call);
    try {
      const response = await this.request(call, control, false);
      control.progress();
      const rawBody = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch (cause) {
        throw new ProviderCallError({ errorClass: 'protocol_error', status: response.status }, `${this.id}: response is not JSON`, {
          cause,
        });
      }
      const model = (json as { model?: unknown }).model;
      return { rawBody, model: typeof model === 'string' ? model : undefined, usage: usageOf(json) };
    } catch (error) {
      throw failure(control, error, this.id);
    } finally {
      control.finish();
    }
  }

  async stream(call: ProviderCall): Promise<ProviderStream> {
    const control = new CallControl(call);
    let response: Response;
    try {
      response = await this.request(call, control, true);
    } catch (error) {
      control.finish();
      throw failure(control, error, this.id);
    }
    if (!(response instanceof HttpResponse) && !response.body) {
      control.finish();
      throw new ProviderCallError({ errorClass: 'protocol_error', status: response.status }, `${this.id}: stream without body`);
    }
    const provider = this.id;
    const responses = call.operation === 'responses';
    // The upstream is read as fast as it sends, whatever the client's pace (see `EventQueue`).
    const queue = new EventQueue();
    let completed = false;
    /** One event as it arrives; throws the stream's failure (the reading then stops). */
    const onEvent = (event: SseEvent) => {
      if (completed) return;
      if (event.data === '[DONE]') {
        // The answer is complete: the consumer may go on at once. The body, which ends right after
        // [DONE], is read to its end (within the idle timeout) so the connection goes back to the
        // pool instead of being destroyed mid-body.
        completed = true;
        queue.end();
        return;
      }
      if (responses) {
        const type = responsesEventType(event.data);
        if (type === 'error') {
          throw new ProviderCallError(
            { errorClass: 'stream_error', body: streamErrorBody(event.data, true) },
            `${provider}: error event in stream`,
          );
        }
        control.progress();
        queue.push(event.data);
        // A Responses stream ends with its response's final state; the body is read to its end as for [DONE].
        if (type !== undefined && FINAL_RESPONSE_EVENTS.has(type)) {
          completed = true;
          queue.end();
        }
        return;
      }
      if (event.event === 'error' || (event.data.includes('"error"') && hasErrorField(event.data))) {
        throw new ProviderCallError(
          { errorClass: 'stream_error', body: streamErrorBody(event.data, false) },
          `${provider}: error event in stream`,
        );
      }
      if (isAzurePromptFilterChunk(event.data)) return;
      control.progress();
      queue.push(event.data);
    };
    const pump = async () => {
      let broken: ProviderCallError | undefined;
      try {
        await eachEvent(response, onEvent);
        if (!completed)
          throw new ProviderCallError(
            { errorClass: 'stream_error' },
            `${provider}: stream ended before ${responses ? 'its final response event' : '[DONE]'}`,
          );
      } catch (error) {
        if (!completed) broken = failure(control, error, provider);
      } finally {
        control.finish();
        if (!completed) control.controller.abort();
        queue.end(broken);
      }
    };
    void pump();
    return queue.stream(
      control,
      readProviderLimits((name) => response.headers.get(name), Date.now()),
    );
  }
}

/** Azure OpenAI opens streams with a `prompt_filter_results` chunk that is not an OpenAI chunk (`object: ""`). */
function isAzurePromptFilterChunk(data: string): boolean {
  if (!data.includes('"prompt_filter_results"')) return false;
  try {
    return (JSON.parse(data) as { object?: unknown }).object !== 'chat.completion.chunk';
  } catch {
    return false;
  }
}

function hasErrorField(data: string): boolean {
  try {
    const json = JSON.parse(data) as Record<string, unknown>;
    return typeof json === 'object' && json !== null && 'error' in json && json['error'] != null;
  } catch {
    return false;
  }
}

/**
 * The OpenAI error body of an error event. A chat stream nests it under `error`; a Responses `error`
 * event carries `code`, `message` and `param` itself (its `type` is the event's, not the error's).
 */
function streamErrorBody(data: string, responses: boolean) {
  const fallback = openAiError('The provider reported an error mid-stream.', 'api_error', 'stream_error');
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return fallback;
  }
  const event = (json ?? {}) as Record<string, unknown>;
  const fields = ((responses ? event : event['error']) ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return openAiError(
    redactSecrets(text(fields['message']) ?? fallback.error.message),
    (responses ? undefined : text(fields['type'])) ?? 'api_error',
    text(fields['code']) ?? 'stream_error',
    responses ? (text(fields['param']) ?? null) : null,
  );
}
