/**
 * Amazon Bedrock through the real app: the official `openai` SDK as the client, the gateway's Bedrock
 * provider on the AWS SDK (SigV4, Converse and ConverseStream), and the simulated Bedrock answering in
 * Converse JSON and AWS's binary event-stream encoding. Plain, streamed, tools, structured output,
 * images, prompt-cache tokens and their cost, 400s for what Converse cannot do, and fallback from
 * Bedrock to OpenAI and back.
 */
import defaultRoutes from '../../config/routes.json';
import { clearFaults, expectStatus, startTestGateway, usageRecordOf, type TestGateway } from '../helpers/local-gateway';

const HAIKU = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';

const routes = {
  ...defaultRoutes,
  tasks: {
    ...defaultRoutes.tasks,
    message_generation: {
      ...defaultRoutes.tasks.message_generation,
      targets: [
        { provider: 'bedrock', model: 'claude-3-5-haiku' },
        { provider: 'openai', model: 'gpt-4o-mini' },
      ],
    },
    general: {
      ...defaultRoutes.tasks.general,
      targets: [
        { provider: 'openai', model: 'gpt-4o-mini' },
        { provider: 'bedrock', model: 'nova-lite' },
      ],
    },
  },
};

const MESSAGES = { 'x-task-type': 'message_generation' };
const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

describe('Amazon Bedrock provider', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { ROUTES_JSON: JSON.stringify(routes) } });
  });
  afterAll(async () => {
    await gw.close();
  });
  afterEach(() => clearFaults(gw));

  const bedrock = () => gw.sims['bedrock']!;
  const lastConverse = () => bedrock().requests.at(-1)!;

  it('answers a plain request; the upstream got a signed Converse request with system, messages and inference settings', async () => {
    const { data, response } = await gw.client.chat.completions
      .create(
        {
          model: 'claude-3-5-haiku',
          messages: [
            { role: 'system', content: 'You write short fan messages.' },
            { role: 'developer', content: 'Never use emojis.' },
            { role: 'user', content: 'Say hello to Alex.' },
          ],
          max_completion_tokens: 200,
          temperature: 0.4,
          top_p: 0.9,
          stop: ['\n\n'],
        },
        { headers: MESSAGES },
      )
      .withResponse();
    expect(response.headers.get('x-orchestrator-provider')).toBe('bedrock');
    expect(response.headers.get('x-orchestrator-model')).toBe('claude-3-5-haiku');
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]!.message.content).toContain(`[simulated bedrock ${HAIKU}]`);
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);

    const sent = lastConverse();
    // Non-streamed requests stream from the provider too, so a hung model is noticed by its first event.
    expect(sent.path).toBe(`/model/${encodeURIComponent(HAIKU)}/converse-stream`);
    expect(sent.authHeaders).toEqual(['authorization']);
    expect(sent.body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Say hello to Alex.' }] }],
      system: [{ text: 'You write short fan messages.' }, { text: 'Never use emojis.' }],
      inferenceConfig: { maxTokens: 200, temperature: 0.4, topP: 0.9, stopSequences: ['\n\n'] },
    });
  });

  it('streams chunks the official SDK reads, with usage when asked', async () => {
    const stream = await gw.client.chat.completions.create(
      {
        model: 'claude-3-5-haiku',
        messages: [{ role: 'user', content: 'Stream a greeting.' }],
        stream: true,
        stream_options: { include_usage: true },
      },
      { headers: MESSAGES },
    );
    let text = '';
    let finish: string | null = null;
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toContain('Stream a greeting.');
    expect(finish).toBe('stop');
    expect(usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('calls tools (streamed and not), then answers from the tool result', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'schedule_post',
          description: 'Schedules a post',
          parameters: {
            type: 'object',
            properties: { caption: { type: 'string' }, hour: { type: 'integer', minimum: 0, maximum: 23 } },
            required: ['caption', 'hour'],
          },
        },
      },
    ];
    const first = await gw.client.chat.completions.create(
      { model: 'claude-3-5-haiku', messages: [{ role: 'user', content: 'Schedule a post.' }], tools, tool_choice: 'required' },
      { headers: MESSAGES },
    );
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call.type === 'function' && call.function.name).toBe('schedule_post');
    const args = JSON.parse(call.type === 'function' ? call.function.arguments : '{}') as { caption: unknown; hour: unknown };
    expect(typeof args.caption).toBe('string');
    expect(Number.isInteger(args.hour)).toBe(true);
    expect(lastConverse().body!['toolConfig']).toEqual({
      tools: [
        { toolSpec: { name: 'schedule_post', description: 'Schedules a post', inputSchema: { json: tools[0]!.function.parameters } } },
      ],
      toolChoice: { any: {} },
    });

    // The same tool call streamed: its id and name first, then the arguments in pieces.
    const stream = await gw.client.chat.completions.create(
      { model: 'claude-3-5-haiku', messages: [{ role: 'user', content: 'Schedule a post.' }], tools, stream: true },
      { headers: MESSAGES },
    );
    let streamedArgs = '';
    let streamedName: string | undefined;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        streamedName ??= delta.function?.name;
        streamedArgs += delta.function?.arguments ?? '';
      }
    }
    expect(streamedName).toBe('schedule_post');
    expect(JSON.parse(streamedArgs)).toEqual(JSON.parse(call.type === 'function' ? call.function.arguments : ''));

    const second = await gw.client.chat.completions.create(
      {
        model: 'claude-3-5-haiku',
        messages: [
          { role: 'user', content: 'Schedule a post.' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: 'scheduled for 18:00' },
        ],
        tools,
      },
      { headers: MESSAGES },
    );
    expect(second.choices[0]!.message.content).toContain('[simulated bedrock');
    expect(lastConverse().body!['messages']).toEqual([
      { role: 'user', content: [{ text: 'Schedule a post.' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: call.id, name: 'schedule_post', input: args } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: call.id, content: [{ text: 'scheduled for 18:00' }] } }] },
    ]);
  });

  it('asks for structured output with the JSON schema, and the answer satisfies it', async () => {
    const schema = {
      type: 'object',
      properties: { title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['title', 'tags'],
      additionalProperties: false,
    };
    const completion = await gw.client.chat.completions.create(
      {
        model: 'claude-3-5-haiku',
        messages: [{ role: 'user', content: 'Plan a post.' }],
        response_format: { type: 'json_schema', json_schema: { name: 'post', schema, strict: true } },
      },
      { headers: MESSAGES },
    );
    const answer = JSON.parse(completion.choices[0]!.message.content!) as { title: unknown; tags: unknown };
    expect(typeof answer.title).toBe('string');
    expect(Array.isArray(answer.tags)).toBe(true);
    expect(lastConverse().body!['outputConfig']).toEqual({
      textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'post' } } },
    });
  });

  it('sends images as bytes', async () => {
    await gw.client.chat.completions.create(
      {
        model: 'claude-3-5-haiku',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Describe this.' },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1PX}` } },
            ],
          },
        ],
      },
      { headers: MESSAGES },
    );
    // The SDK sends blob members base64-encoded in JSON.
    expect(lastConverse().body!['messages']).toEqual([
      { role: 'user', content: [{ text: 'Describe this.' }, { image: { format: 'png', source: { bytes: PNG_1PX } } }] },
    ]);
  });

  it('reports prompt-cache writes and reads, and prices them apart', async () => {
    const system = `You are Alex's assistant. ${'Brand voice rules: warm, short, no emojis. '.repeat(40)}`;
    const ask = () =>
      gw.call('/v1/chat/completions', {
        method: 'POST',
        headers: MESSAGES,
        body: JSON.stringify({
          model: 'claude-3-5-haiku',
          messages: [
            { role: 'system', content: [{ type: 'text', text: system, cache_control: { type: 'ephemeral' } }] },
            { role: 'user', content: `Greet fan ${Math.random()}` },
          ],
        }),
      });
    const first = await ask();
    await expectStatus(first, 200);
    const written = (await first.json()) as { usage: { prompt_tokens: number; prompt_tokens_details: Record<string, number> } };
    expect(lastConverse().body!['system']).toEqual([{ text: system }, { cachePoint: { type: 'default' } }]);
    expect(written.usage.prompt_tokens_details['cache_write_tokens']).toBeGreaterThan(100);
    expect(written.usage.prompt_tokens_details['cached_tokens']).toBe(0);

    const second = await ask();
    await expectStatus(second, 200);
    const read = (await second.json()) as typeof written;
    expect(read.usage.prompt_tokens_details['cached_tokens']).toBe(written.usage.prompt_tokens_details['cache_write_tokens']);
    expect(read.usage.prompt_tokens_details['cache_write_tokens']).toBeUndefined();

    // Haiku: input $0.80, cache reads $0.08 and writes $1.00 per million tokens.
    const costOf = (prompt: number, cached: number, writes: number, output: number) =>
      Math.round((prompt - cached - writes) * 0.8) + Math.round(cached * 0.08) + Math.round(writes * 1) + Math.round(output * 4);
    const record = await usageRecordOf(gw, second.headers.get('x-request-id')!);
    expect(record).toMatchObject({
      provider: 'bedrock',
      model: 'claude-3-5-haiku',
      cachedTokens: read.usage.prompt_tokens_details['cached_tokens'],
    });
    expect(record.costMicros).toBe(costOf(record.inputTokens, record.cachedTokens, 0, record.outputTokens));
    const firstRecord = await usageRecordOf(gw, first.headers.get('x-request-id')!);
    expect(firstRecord.cacheWriteTokens).toBe(written.usage.prompt_tokens_details['cache_write_tokens']);
    expect(firstRecord.costMicros).toBe(costOf(firstRecord.inputTokens, 0, firstRecord.cacheWriteTokens!, firstRecord.outputTokens));
  });

  it.each([
    [{ n: 2 }, 'n'],
    [{ logprobs: true }, 'logprobs'],
    [{ seed: 7 }, 'seed'],
    [{ response_format: { type: 'json_object' } }, 'response_format'],
    // OpenAI's range is 0 to 2; Converse's 0 to 1.
    [{ temperature: 1.5 }, 'temperature'],
    // A custom tool's call sent back with the conversation.
    [
      {
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'grep', input: 'x' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'found' },
        ],
      },
      'messages.1.tool_calls.0.type',
    ],
  ])('refuses %j with a 400 naming the field, and calls no provider', async (extra, param) => {
    const before = bedrock().calls;
    const openAiBefore = gw.sims['openai']!.calls;
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      headers: MESSAGES,
      body: JSON.stringify({ model: 'claude-3-5-haiku', messages: [{ role: 'user', content: 'hi' }], ...extra }),
    });
    await expectStatus(response, 400);
    const body = (await response.json()) as { error: { message: string; param: string; code: string } };
    expect(body.error).toMatchObject({ param, code: 'unsupported_parameter' });
    expect(body.error.message).toMatch(/^Amazon Bedrock: /);
    expect(bedrock().calls).toBe(before);
    expect(gw.sims['openai']!.calls).toBe(openAiBefore);
  });

  it('passes Bedrock validation errors to the caller as a 400 in OpenAI shape, without falling back', async () => {
    bedrock().setFault({ kind: 'status', status: 400 });
    const openAiBefore = gw.sims['openai']!.calls;
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      headers: MESSAGES,
      body: JSON.stringify({ model: 'claude-3-5-haiku', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await expectStatus(response, 400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('validation');
    expect(gw.sims['openai']!.calls).toBe(openAiBefore);
  });

  it.each([
    ['unavailable (503)', { kind: 'status', status: 503 } as const],
    ['failing at stream start (500)', { kind: 'status', status: 500 } as const],
    ['hung before its first event', { kind: 'silence' } as const],
  ])('falls back from Bedrock to OpenAI when Bedrock is %s', async (_, fault) => {
    bedrock().setFault(fault);
    const stream = await gw.client.chat.completions
      .create({ model: 'claude-3-5-haiku', messages: [{ role: 'user', content: 'Fall back.' }], stream: true }, { headers: MESSAGES })
      .withResponse();
    expect(stream.response.headers.get('x-orchestrator-provider')).toBe('openai');
    expect(stream.response.headers.get('x-orchestrator-fallback')).toBe('true');
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('[simulated openai gpt-4o-mini]');
  });

  it('falls back from OpenAI to Bedrock', async () => {
    gw.sims['openai']!.setFault({ kind: 'status', status: 500 });
    const { data, response } = await gw.client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Fall back to Bedrock.' }] })
      .withResponse();
    expect(response.headers.get('x-orchestrator-provider')).toBe('bedrock');
    expect(response.headers.get('x-orchestrator-model')).toBe('nova-lite');
    expect(data.choices[0]!.message.content).toContain('[simulated bedrock us.amazon.nova-lite-v1:0]');
  });

  it('falls back when Bedrock throttles, and the throttled target then cools for its retry time (no retry-after: 2 s)', async () => {
    bedrock().setFault({ kind: 'status', status: 429 }, 1);
    const ask = () =>
      gw.client.chat.completions
        .create({ model: 'claude-3-5-haiku', messages: [{ role: 'user', content: 'Throttled.' }] }, { headers: MESSAGES })
        .withResponse();
    const first = await ask();
    expect(first.response.headers.get('x-orchestrator-provider')).toBe('openai');
    expect(first.response.headers.get('x-orchestrator-attempts')).toBe('2');
    const calls = bedrock().calls;
    const second = await ask();
    expect(second.response.headers.get('x-orchestrator-provider')).toBe('openai');
    expect(second.response.headers.get('x-orchestrator-attempts')).toBe('1');
    expect(bedrock().calls).toBe(calls);
  });

  it("routes a Bedrock model asked for by name through a task that does not list Bedrock, with the task's targets as fallback", async () => {
    const ask = () =>
      gw.client.chat.completions
        .create(
          { model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'Plan the week.' }] },
          { headers: { 'x-task-type': 'content_planning' } },
        )
        .withResponse();
    const direct = await ask();
    expect(direct.response.headers.get('x-orchestrator-provider')).toBe('bedrock');
    expect(direct.response.headers.get('x-orchestrator-model')).toBe('claude-sonnet-4');
    expect(lastConverse().path).toBe(`/model/${encodeURIComponent('us.anthropic.claude-sonnet-4-20250514-v1:0')}/converse-stream`);

    bedrock().setFault({ kind: 'status', status: 503 });
    const fallback = await ask();
    expect(fallback.response.headers.get('x-orchestrator-provider')).toBe('azure-openai');
    expect(fallback.response.headers.get('x-orchestrator-model')).toBe('gpt-4o');
  });

  it('embeds through Titan Text Embeddings: one InvokeModel call per input, floats or base64, usage summed', async () => {
    const before = bedrock().calls;
    const floats = await gw.client.embeddings.create({
      model: 'titan-embed-text-v2',
      input: ['first text', 'second, longer text'],
      dimensions: 256,
      encoding_format: 'float',
    });
    expect(floats.data.map((d) => [d.index, d.embedding.length])).toEqual([
      [0, 256],
      [1, 256],
    ]);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    const calls = bedrock().requestsSince(before);
    expect(calls.map((r) => r.path)).toEqual([
      `/model/${encodeURIComponent('amazon.titan-embed-text-v2:0')}/invoke`,
      `/model/${encodeURIComponent('amazon.titan-embed-text-v2:0')}/invoke`,
    ]);
    expect(calls.map((r) => r.body).sort((a, b) => String(a!['inputText']).localeCompare(String(b!['inputText'])))).toEqual([
      { inputText: 'first text', dimensions: 256, normalize: true },
      { inputText: 'second, longer text', dimensions: 256, normalize: true },
    ]);

    // The official SDK asks for base64 by default and decodes it: the same vector as the floats.
    const decoded = await gw.client.embeddings.create({ model: 'titan-embed-text-v2', input: 'first text', dimensions: 256 });
    expect(decoded.data[0]!.embedding.map((v) => Number(v.toFixed(5)))).toEqual(floats.data[0]!.embedding.map((v) => Number(v.toFixed(5))));

    const record = await usageRecordOf(
      gw,
      (await gw.client.embeddings.create({ model: 'titan-embed-text-v2', input: 'priced' }).withResponse()).response.headers.get(
        'x-request-id',
      ),
    );
    expect(record).toMatchObject({ provider: 'bedrock', model: 'titan-embed-text-v2', route: '/v1/embeddings' });
    expect(record.costMicros).toBe(Math.round(record.inputTokens * 0.02));
  });

  it.each([
    [{ input: [1, 2, 3] }, 'input'],
    [{ input: 'x', dimensions: 300 }, 'dimensions'],
  ])('refuses Titan embeddings it cannot make (%j) with a 400 naming the field', async (extra, param) => {
    const response = await gw.call('/v1/embeddings', { method: 'POST', body: JSON.stringify({ model: 'titan-embed-text-v2', ...extra }) });
    await expectStatus(response, 400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe(param);
  });

  it.each([[{ seed: 7 }], [{ temperature: 1.5 }]])(
    'falls back when Bedrock, not named by the caller, cannot serve what the request asks (%j), and calls it not at all',
    async (extra) => {
      const before = bedrock().calls;
      const response = await gw.call('/v1/chat/completions', {
        method: 'POST',
        headers: MESSAGES,
        body: JSON.stringify({ model: 'gpt-4o-mini', ...extra, messages: [{ role: 'user', content: 'hi' }] }),
      });
      await expectStatus(response, 200);
      expect(response.headers.get('x-orchestrator-provider')).toBe('openai');
      expect(bedrock().calls).toBe(before);
    },
  );
});
