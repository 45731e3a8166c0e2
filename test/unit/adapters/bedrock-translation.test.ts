/**
 * Bedrock translation both ways, against Converse and ConverseStream payloads in the shapes AWS
 * documents (the AWS SDK's own output types): requests with system and developer messages, images,
 * tools and tool results; answers with tool calls and cache tokens; a stream whose tool call spans
 * several events; and every mapped error.
 */
import type { ConverseResponse, ConverseStreamOutput } from '@aws-sdk/client-bedrock-runtime';
import { toConverseRequest } from '../../../lambdas/adapters/providers/bedrock/converse-request';
import { ChunkTranslator, completionOf } from '../../../lambdas/adapters/providers/bedrock/converse-response';
import { bedrockCallError, DEFAULT_THROTTLE_RETRY_MS } from '../../../lambdas/adapters/providers/bedrock/errors';
import { ProviderCallError } from '../../../lambdas/core/errors';
import { usageOf } from '../../../lambdas/core/ai/usage';

const identity = { id: 'chatcmpl-bedrock-1', model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', created: 1_795_000_000 };

function refusal(run: () => unknown): ProviderCallError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProviderCallError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('OpenAI request -> Converse', () => {
  it('moves system and developer messages to system, merges roles and keeps the conversation', () => {
    const request = toConverseRequest(
      {
        model: 'claude',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'First.' },
          { role: 'user', content: [{ type: 'text', text: 'Second.', cache_control: { type: 'ephemeral' } }] },
          { role: 'developer', content: [{ type: 'text', text: 'No emojis.' }] },
          { role: 'assistant', content: 'Sure.' },
          { role: 'user', content: 'Third.' },
        ],
        max_tokens: 50,
        max_completion_tokens: 60,
        stop: 'END',
        user: 'fan-1',
        store: false,
        stream: true,
        stream_options: { include_usage: true },
      },
      'model-id',
    );
    expect(request).toEqual({
      modelId: 'model-id',
      system: [{ text: 'Be brief.' }, { text: 'No emojis.' }],
      messages: [
        { role: 'user', content: [{ text: 'First.' }, { text: 'Second.' }, { cachePoint: { type: 'default' } }] },
        { role: 'assistant', content: [{ text: 'Sure.' }] },
        { role: 'user', content: [{ text: 'Third.' }] },
      ],
      // max_completion_tokens wins over the deprecated max_tokens, as at OpenAI.
      inferenceConfig: { maxTokens: 60, stopSequences: ['END'] },
    });
  });

  it('translates images, tool calls, tool results and tool_choice', () => {
    const request = toConverseRequest(
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
            ],
          },
          {
            role: 'assistant',
            content: 'Let me look.',
            tool_calls: [{ id: 'tooluse_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } }],
          },
          { role: 'tool', tool_call_id: 'tooluse_1', content: [{ type: 'text', text: 'a cat' }] },
        ],
        tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
        tool_choice: { type: 'function', function: { name: 'lookup' } },
        parallel_tool_calls: true,
        n: 1,
      },
      'm',
    );
    expect(request.messages).toEqual([
      {
        role: 'user',
        content: [{ text: 'What is this?' }, { image: { format: 'jpeg', source: { bytes: Buffer.from('/9j/4AAQ', 'base64') } } }],
      },
      {
        role: 'assistant',
        content: [{ text: 'Let me look.' }, { toolUse: { toolUseId: 'tooluse_1', name: 'lookup', input: { q: 'cat' } } }],
      },
      { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_1', content: [{ text: 'a cat' }] } }] },
    ]);
    expect(request.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'lookup', inputSchema: { json: { type: 'object', properties: { q: { type: 'string' } } } } } }],
      toolChoice: { tool: { name: 'lookup' } },
    });
    const tools = [{ type: 'function', function: { name: 'f' } }];
    const choice = (tool_choice: unknown) =>
      toConverseRequest({ messages: [{ role: 'user', content: 'x' }], tools, tool_choice }, 'm').toolConfig;
    expect(choice('none')).toBeUndefined();
    expect(choice('auto')?.toolChoice).toEqual({ auto: {} });
    expect(choice('required')?.toolChoice).toEqual({ any: {} });
    expect(choice(undefined)?.tools).toEqual([{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object', properties: {} } } } }]);
  });

  it('declares the tools a conversation used when the request sends none (Converse needs them), and drops blank text', () => {
    const request = toConverseRequest(
      {
        messages: [
          { role: 'system', content: '' },
          { role: 'user', content: 'What time is it?' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'current_time', arguments: '' } }],
          },
          { role: 'tool', tool_call_id: 't1', content: '12:00' },
          {
            role: 'user',
            content: [
              { type: 'text', text: '' },
              { type: 'text', text: 'Summarise.' },
            ],
          },
        ],
      },
      'm',
    );
    expect(request.system).toBeUndefined();
    expect(request.toolConfig).toEqual({ tools: [{ toolSpec: { name: 'current_time', inputSchema: { json: { type: 'object' } } } }] });
    expect(request.messages).toEqual([
      { role: 'user', content: [{ text: 'What time is it?' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'current_time', input: {} } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: '12:00' }] } }, { text: 'Summarise.' }] },
    ]);
  });

  it.each([
    [{ n: 3 }, 'n'],
    [{ logprobs: true }, 'logprobs'],
    [{ top_logprobs: 2 }, 'top_logprobs'],
    [{ presence_penalty: 0.5 }, 'presence_penalty'],
    [{ frequency_penalty: 1 }, 'frequency_penalty'],
    [{ logit_bias: { '50256': -100 } }, 'logit_bias'],
    [{ seed: 1 }, 'seed'],
    [{ parallel_tool_calls: false }, 'parallel_tool_calls'],
    [{ modalities: ['text', 'audio'] }, 'modalities'],
    [{ reasoning_effort: 'high' }, 'reasoning_effort'],
    [{ response_format: { type: 'json_object' } }, 'response_format'],
    [
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] },
      'messages.0.content.0',
    ],
    [
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/tiff;base64,AAAA' } }] }] },
      'messages.0.content.0',
    ],
    [
      { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] }] },
      'messages.0.content.0.type',
    ],
    [{ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages.0.role'],
    [
      { messages: [{ role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '[1]' } }] }] },
      'messages.0.tool_calls.0.function.arguments',
    ],
  ])('refuses %j with a 400 naming %s', (extra, param) => {
    const error = refusal(() => toConverseRequest({ messages: [{ role: 'user', content: 'hi' }], ...extra }, 'm'));
    expect(error.failure).toMatchObject({ errorClass: 'client_error', status: 400 });
    expect(error.failure.body!.error).toMatchObject({ param, code: 'unsupported_parameter', type: 'invalid_request_error' });
  });
});

describe('Converse answer -> OpenAI completion', () => {
  it('keeps text, tool calls, the finish reason and cache tokens (prompt_tokens includes them)', () => {
    const response: ConverseResponse = {
      output: {
        message: {
          role: 'assistant',
          content: [{ text: 'Checking.' }, { toolUse: { toolUseId: 'tooluse_abc', name: 'lookup', input: { q: 'cat' } } }],
        },
      },
      stopReason: 'tool_use',
      usage: { inputTokens: 12, outputTokens: 30, totalTokens: 2_042, cacheReadInputTokens: 1_500, cacheWriteInputTokens: 500 },
      metrics: { latencyMs: 420 },
    };
    const completion = completionOf(response, identity);
    expect(completion).toEqual({
      id: identity.id,
      object: 'chat.completion',
      created: identity.created,
      model: identity.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Checking.',
            refusal: null,
            tool_calls: [{ id: 'tooluse_abc', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } }],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: {
        prompt_tokens: 2_012,
        completion_tokens: 30,
        total_tokens: 2_042,
        prompt_tokens_details: { cached_tokens: 1_500, cache_write_tokens: 500 },
      },
    });
    // The gateway's metering reads both back.
    expect(usageOf(completion)).toEqual({
      promptTokens: 2_012,
      completionTokens: 30,
      totalTokens: 2_042,
      cachedTokens: 1_500,
      cacheWriteTokens: 500,
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
  ] as const)('maps stop reason %s to %s', (stopReason, finish) => {
    const completion = completionOf(
      {
        output: { message: { role: 'assistant', content: [{ text: '' }] } },
        stopReason,
        usage: undefined,
        metrics: undefined,
      },
      identity,
    ) as { choices: Array<{ finish_reason: string }> };
    expect(completion.choices[0]!.finish_reason).toBe(finish);
  });
});

describe('ConverseStream events -> OpenAI chunks', () => {
  it('streams text, a tool call spread over several events, the finish reason, then usage', () => {
    const events: ConverseStreamOutput[] = [
      { messageStart: { role: 'assistant' } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Let me ' } } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'check.' } } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      { contentBlockStart: { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tooluse_1', name: 'lookup' } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '{"q":' } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '"cat"}' } } } },
      { contentBlockStop: { contentBlockIndex: 1 } },
      { contentBlockStart: { contentBlockIndex: 2, start: { toolUse: { toolUseId: 'tooluse_2', name: 'count' } } } },
      { contentBlockDelta: { contentBlockIndex: 2, delta: { toolUse: { input: '{}' } } } },
      { contentBlockStop: { contentBlockIndex: 2 } },
      { messageStop: { stopReason: 'tool_use' } },
      {
        metadata: {
          usage: { inputTokens: 10, outputTokens: 20, totalTokens: 130, cacheReadInputTokens: 100 },
          metrics: { latencyMs: 300 },
        },
      },
    ];
    const translator = new ChunkTranslator(identity);
    const chunks = events.flatMap((event) => translator.translate(event)).map((c) => JSON.parse(c) as Record<string, unknown>);
    expect(translator.complete).toBe(true);
    const deltas = chunks.map((c) => (c['choices'] as Array<{ delta: unknown; finish_reason: unknown }>)[0] ?? null);
    expect(deltas.map((d) => d && { delta: d.delta, finish: d.finish_reason })).toEqual([
      { delta: { role: 'assistant', content: '' }, finish: null },
      { delta: { content: 'Let me ' }, finish: null },
      { delta: { content: 'check.' }, finish: null },
      {
        delta: { tool_calls: [{ index: 0, id: 'tooluse_1', type: 'function', function: { name: 'lookup', arguments: '' } }] },
        finish: null,
      },
      { delta: { tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }, finish: null },
      { delta: { tool_calls: [{ index: 0, function: { arguments: '"cat"}' } }] }, finish: null },
      {
        delta: { tool_calls: [{ index: 1, id: 'tooluse_2', type: 'function', function: { name: 'count', arguments: '' } }] },
        finish: null,
      },
      { delta: { tool_calls: [{ index: 1, function: { arguments: '{}' } }] }, finish: null },
      { delta: {}, finish: 'tool_calls' },
      null,
    ]);
    expect(chunks.every((c) => c['object'] === 'chat.completion.chunk' && c['id'] === identity.id && c['model'] === identity.model)).toBe(
      true,
    );
    expect(chunks.at(-1)!['usage']).toEqual({
      prompt_tokens: 110,
      completion_tokens: 20,
      total_tokens: 130,
      prompt_tokens_details: { cached_tokens: 100 },
    });
  });

  it('gives a tool called without arguments `{}`, as the non-streamed answer does', () => {
    const translator = new ChunkTranslator(identity);
    const chunks = [
      { messageStart: { role: 'assistant' as const } },
      { contentBlockStart: { contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_now', name: 'current_time' } } } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      { messageStop: { stopReason: 'tool_use' as const } },
    ].flatMap((event) => translator.translate(event));
    const args = chunks
      .map((c) => JSON.parse(c) as { choices: Array<{ delta: { tool_calls?: Array<{ function: { arguments?: string } }> } }> })
      .flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
      .map((call) => call.function.arguments ?? '')
      .join('');
    expect(args).toBe('{}');
  });

  it('is complete only with usage after messageStop', () => {
    const translator = new ChunkTranslator(identity);
    translator.translate({ messageStart: { role: 'assistant' } });
    expect(translator.translate({ metadata: { usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, metrics: undefined } })).toEqual(
      [],
    );
    expect(translator.complete).toBe(false);
    translator.translate({ messageStop: { stopReason: 'end_turn' } });
    expect(translator.stopped).toBe(true);
    expect(translator.complete).toBe(false);
  });
});

describe('Bedrock errors -> provider failures', () => {
  const ctx = { provider: 'bedrock', timedOut: undefined, clientAborted: false, now: 1_000_000 };
  const exception = (name: string, message = `${name} happened`, headers: Record<string, string> = {}) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 }, $response: { headers } });

  it.each([
    ['ThrottlingException', 'rate_limited', 429, 'rate_limit_error'],
    ['ServiceQuotaExceededException', 'rate_limited', 429, 'rate_limit_error'],
    ['ModelTimeoutException', 'timeout', 408, 'timeout_error'],
    ['ModelNotReadyException', 'server_error', 503, 'api_error'],
    ['ServiceUnavailableException', 'server_error', 503, 'api_error'],
    ['InternalServerException', 'server_error', 500, 'api_error'],
    ['ModelErrorException', 'server_error', 502, 'api_error'],
    ['ModelStreamErrorException', 'stream_error', 502, 'api_error'],
    ['ValidationException', 'bad_request', 400, 'invalid_request_error'],
    ['AccessDeniedException', 'forbidden', 403, 'permission_error'],
    ['UnrecognizedClientException', 'auth', 401, 'authentication_error'],
    ['ResourceNotFoundException', 'not_found', 404, 'invalid_request_error'],
    ['ConflictException', 'conflict', 409, 'api_error'],
  ])('%s is %s (%d, %s)', (name, errorClass, status, type) => {
    const mapped = bedrockCallError(exception(name), ctx);
    expect(mapped.failure).toMatchObject({ errorClass, status, body: { error: { type, message: `${name} happened` } } });
    expect(mapped.cause).toBeInstanceOf(Error);
  });

  it("takes a model id or profile Bedrock cannot run for the route table's mistake: not found, so another target answers", () => {
    for (const message of [
      'The provided model identifier is invalid.',
      "Invocation of model ID anthropic.claude-3-5-haiku-20241022-v1:0 with on-demand throughput isn't supported.",
    ])
      expect(bedrockCallError(exception('ValidationException', message), ctx).failure).toMatchObject({
        errorClass: 'not_found',
        status: 404,
      });
  });

  it('gives throttling its retry timing: retry-after when Bedrock sends one, else the default', () => {
    expect(bedrockCallError(exception('ThrottlingException'), ctx).failure.retryAfterMs).toBe(DEFAULT_THROTTLE_RETRY_MS);
    expect(bedrockCallError(exception('ThrottlingException', 'slow down', { 'retry-after': '7' }), ctx).failure.retryAfterMs).toBe(7000);
  });

  it('redacts access key ids from messages, and maps timeouts, aborts, sockets and unknown statuses', () => {
    const leaked = bedrockCallError(exception('AccessDeniedException', 'User AKIAABCDEFGHIJKLMNOP is not authorized'), ctx);
    expect(leaked.failure.body!.error.message).toBe('User AKIA[redacted] is not authorized');
    expect(bedrockCallError(new Error('aborted'), { ...ctx, timedOut: 'idle' }).failure.errorClass).toBe('timeout');
    expect(bedrockCallError(new Error('aborted'), { ...ctx, clientAborted: true }).failure.errorClass).toBe('aborted');
    expect(bedrockCallError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), ctx).failure.errorClass).toBe(
      'connection_refused',
    );
    expect(bedrockCallError(Object.assign(new Error('x'), { name: 'TimeoutError' }), ctx).failure.errorClass).toBe('timeout');
    expect(
      bedrockCallError(Object.assign(new Error('bad gateway'), { name: 'Unknown', $metadata: { httpStatusCode: 502 } }), ctx).failure,
    ).toMatchObject({
      errorClass: 'server_error',
      status: 502,
    });
  });
});
