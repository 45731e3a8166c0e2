/**
 * `ChatProvider` on Amazon Bedrock's Converse and ConverseStream APIs (`@aws-sdk/client-bedrock-runtime`),
 * signed with the function's IAM role: no API key. Requests and answers are translated from and to
 * OpenAI's chat format in this folder; the SDK's own retries are off (the orchestrator owns retries), the
 * connect timeout is the HTTP handler's, and first-event, idle and total timeouts abort the call.
 */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { ProviderCallError, type ProviderFailure } from '../../../core/errors';
import type { ChatProvider, ProviderCall, ProviderCompletion, ProviderOperation, ProviderStream } from '../../../core/ai/ports';
import { usageOf } from '../../../core/ai/usage';
import { sdkLogger } from '../../aws/bounded-clients';
import { CallControl, EventQueue } from '../call-control';
import { toConverseRequest } from './converse-request';
import { ChunkTranslator, completionOf } from './converse-response';
import { bedrockCallError } from './errors';
import { bedrockSdk as sdk } from './sdk';
import { embeddingList, inOrder, titanRequests } from './embeddings';

export interface BedrockCredentials {
  region: string;
  /** Another endpoint than Bedrock's regional one (a VPC endpoint, or the local simulator). */
  endpoint?: string | undefined;
  /** Static keys: the local simulator, or a laptop without a credential chain. Absent: the SDK's chain (on Lambda, the role). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
}

export class BedrockProvider implements ChatProvider {
  /** One client per connect timeout (the HTTP handler owns it), sharing the credentials. */
  private readonly clients = new Map<number, BedrockRuntimeClient>();

  constructor(
    readonly id: string,
    private readonly credentials: BedrockCredentials,
  ) {}

  /** Chat (Converse) and embeddings (Titan through InvokeModel); not OpenAI's Responses API. */
  supports(operation: ProviderOperation): boolean {
    return operation === 'chat' || operation === 'embeddings';
  }

  /** What Converse (or Titan) cannot do for this request, found by translating it (microseconds, no call). */
  refuses(call: Pick<ProviderCall, 'upstreamModel' | 'operation' | 'body'>): ProviderFailure | undefined {
    try {
      if (call.operation === 'embeddings') titanRequests(call.body);
      else if (call.operation === undefined || call.operation === 'chat') toConverseRequest(call.body, call.upstreamModel);
      return undefined;
    } catch (error) {
      if (error instanceof ProviderCallError) return error.failure;
      throw error;
    }
  }

  private client(connectMs: number): BedrockRuntimeClient {
    let client = this.clients.get(connectMs);
    if (!client) {
      const { BedrockRuntimeClient: Client } = sdk();
      const { NodeHttpHandler } = require('@smithy/node-http-handler') as typeof import('@smithy/node-http-handler');
      const { region, endpoint, accessKeyId, secretAccessKey, sessionToken } = this.credentials;
      client = new Client({
        region,
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler({ connectionTimeout: connectMs }),
        logger: sdkLogger,
        ...(endpoint ? { endpoint } : {}),
        ...(accessKeyId && secretAccessKey
          ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
          : {}),
      });
      this.clients.set(connectMs, client);
    }
    return client;
  }

  private fail(control: CallControl, error: unknown): ProviderCallError {
    return bedrockCallError(error, control.context(this.id));
  }

  private request(call: ProviderCall) {
    if (call.operation !== undefined && call.operation !== 'chat')
      throw new ProviderCallError({ errorClass: 'client_error', status: 400 }, `${this.id}: ${call.operation} is not served`);
    return toConverseRequest(call.body, call.upstreamModel);
  }

  /** Embeddings: one InvokeModel call per input, answered whole as OpenAI's list. */
  private async embed(call: ProviderCall, control: CallControl): Promise<ProviderCompletion> {
    const requests = titanRequests(call.body);
    const { InvokeModelCommand } = sdk();
    const client = this.client(call.timeouts.connectMs);
    // A failed input fails the request: the calls still in flight are cancelled with it.
    const answers = await inOrder(requests, async (body) => {
      const out = await client.send(
        new InvokeModelCommand({
          modelId: call.upstreamModel,
          contentType: 'application/json',
          accept: 'application/json',
          body: JSON.stringify(body),
        }),
        { abortSignal: control.controller.signal },
      );
      const parsed = JSON.parse(Buffer.from(out.body).toString('utf8')) as { embedding?: unknown; inputTextTokenCount?: unknown };
      if (!Array.isArray(parsed.embedding))
        throw new ProviderCallError({ errorClass: 'protocol_error' }, `${this.id}: InvokeModel answered without an embedding`);
      // Each answer is progress: the first-event and idle timeouts measure one call, not the whole batch.
      control.progress();
      return { embedding: parsed.embedding as number[], inputTextTokenCount: Number(parsed.inputTextTokenCount ?? 0) };
    });
    const list = embeddingList(answers, call.upstreamModel, call.body['encoding_format'] === 'base64');
    return { rawBody: JSON.stringify(list), model: call.upstreamModel, usage: usageOf(list) };
  }

  async complete(call: ProviderCall): Promise<ProviderCompletion> {
    const control = new CallControl(call);
    try {
      if (call.operation === 'embeddings') {
        try {
          return await this.embed(call, control);
        } catch (error) {
          control.controller.abort();
          throw error;
        }
      }
      const input = this.request(call);
      const { ConverseCommand } = sdk();
      const response = await this.client(call.timeouts.connectMs).send(new ConverseCommand(input), {
        abortSignal: control.controller.signal,
      });
      control.progress();
      const completion = completionOf(response, {
        id: `chatcmpl-bedrock-${response.$metadata.requestId ?? Date.now()}`,
        model: call.upstreamModel,
        created: Math.floor(Date.now() / 1000),
      });
      return { rawBody: JSON.stringify(completion), model: call.upstreamModel, usage: usageOf(completion) };
    } catch (error) {
      throw this.fail(control, error);
    } finally {
      control.finish();
    }
  }

  async stream(call: ProviderCall): Promise<ProviderStream> {
    const control = new CallControl(call);
    let events: AsyncIterable<Parameters<ChunkTranslator['translate']>[0]>;
    let requestId: string | undefined;
    try {
      const input = this.request(call);
      const { ConverseStreamCommand } = sdk();
      const response = await this.client(call.timeouts.connectMs).send(new ConverseStreamCommand(input), {
        abortSignal: control.controller.signal,
      });
      if (!response.stream) throw new ProviderCallError({ errorClass: 'protocol_error' }, `${this.id}: stream without body`);
      events = response.stream;
      requestId = response.$metadata.requestId;
    } catch (error) {
      control.finish();
      throw this.fail(control, error);
    }
    const translator = new ChunkTranslator({
      id: `chatcmpl-bedrock-${requestId ?? Date.now()}`,
      model: call.upstreamModel,
      created: Math.floor(Date.now() / 1000),
    });
    // Read as fast as Bedrock sends (see `EventQueue`); the answer is complete with the usage after `messageStop`.
    const queue = new EventQueue();
    const pump = async () => {
      let broken: ProviderCallError | undefined;
      try {
        for await (const event of events) {
          if (translator.complete) continue;
          control.progress();
          throwStreamException(event);
          for (const chunk of translator.translate(event)) queue.push(chunk);
          if (translator.complete) queue.end();
        }
        if (!translator.stopped) throw new ProviderCallError({ errorClass: 'stream_error' }, `${this.id}: stream ended before messageStop`);
      } catch (error) {
        if (!translator.complete) broken = this.fail(control, error);
      } finally {
        control.finish();
        if (!translator.complete) control.controller.abort();
        queue.end(broken);
      }
    };
    void pump();
    return queue.stream(control);
  }
}

/** An exception Bedrock sent as a stream event (`throttlingException`, `modelStreamErrorException`...), thrown as the SDK's own would be. */
function throwStreamException(event: object): void {
  const member = Object.keys(event).find((key) => key.endsWith('Exception'));
  if (!member) return;
  const detail = (event as Record<string, { message?: unknown } | undefined>)[member];
  const error = new Error(typeof detail?.message === 'string' ? detail.message : member);
  error.name = member[0]!.toUpperCase() + member.slice(1);
  throw error;
}
