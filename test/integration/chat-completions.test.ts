/** The OpenAI-compatible API end to end, with the official openai SDK as the client. */
import { conformance } from '../helpers/openai-schemas';
import { chatBody, readSseData, startTestGateway, type TestGateway } from '../helpers/local-gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.close());

describe('POST /v1/chat/completions', () => {
  it('answers an openai SDK completion with the routing headers', async () => {
    const { data, response } = await gw.client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toContain('[simulated openai gpt-4o-mini]');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{24}$/);
    expect(response.headers.get('x-orchestrator-provider')).toBe('openai');
    expect(response.headers.get('x-orchestrator-model')).toBe('gpt-4o-mini');
    expect(response.headers.get('x-orchestrator-fallback')).toBe('false');
    expect(response.headers.get('x-orchestrator-attempts')).toBe('1');
    expect(conformance('CreateChatCompletionResponse', data)).toEqual([]);
  });

  it('routes content planning to Azure OpenAI (header, metadata or task alias)', async () => {
    const viaHeader = await gw.call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'x-task-type': 'content_planning' },
      body: JSON.stringify(chatBody()),
    });
    expect(viaHeader.headers.get('x-orchestrator-provider')).toBe('azure-openai');
    const viaMetadata = await gw.client.chat.completions
      .create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'plan' }],
        metadata: { task_type: 'content_planning', campaign: 'x' },
      })
      .withResponse();
    expect(viaMetadata.response.headers.get('x-orchestrator-provider')).toBe('azure-openai');
    expect(viaMetadata.data.model).toBe('gpt-4o');
    expect(conformance('CreateChatCompletionResponse', viaMetadata.data)).toEqual([]);
    const viaAlias = await gw.client.chat.completions
      .create({ model: 'task:content_planning', messages: [{ role: 'user', content: 'plan' }] })
      .withResponse();
    expect(viaAlias.response.headers.get('x-orchestrator-provider')).toBe('azure-openai');
    expect(viaAlias.response.headers.get('x-orchestrator-model')).toBe('gpt-4o');
  });

  it('forwards a conversation holding a custom tool’s call as sent', async () => {
    const openai = gw.sims.openai!;
    const before = openai.calls;
    const messages = [
      { role: 'user', content: 'Find the TODOs.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'custom', custom: { name: 'grep', input: 'TODO' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'src/a.ts:3: TODO' },
    ];
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o-mini', messages, tools: [{ type: 'custom', custom: { name: 'grep' } }] }),
    });
    expect(response.status).toBe(200);
    expect(openai.requestsSince(before)[0]?.body).toMatchObject({ messages });
  });

  it('asks for audio in a format that does not stream (wav) without a stream, and streams pcm16', async () => {
    const openai = gw.sims.openai!;
    for (const [format, streamed] of [
      ['wav', false],
      ['pcm16', true],
    ] as const) {
      const before = openai.calls;
      const response = await gw.call('/v1/chat/completions', {
        method: 'POST',
        body: JSON.stringify(chatBody({ modalities: ['text', 'audio'], audio: { voice: 'alloy', format } })),
      });
      expect(response.status).toBe(200);
      expect([format, openai.requestsSince(before)[0]?.body?.['stream'] === true]).toEqual([format, streamed]);
    }
  });

  it("removes the gateway's hints before forwarding, keeping everything else", async () => {
    const azure = gw.sims['azure-openai']!;
    const before = azure.calls;
    await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify(
        chatBody({ metadata: { task_type: 'content_planning', campaign: 'spring' }, temperature: 0.3, some_future_field: { a: 1 } }),
      ),
    });
    const [forwarded] = azure.requestsSince(before);
    expect(forwarded?.path).toBe('/openai/deployments/gpt-4o-mini/chat/completions?api-version=2025-04-01-preview');
    expect(forwarded?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Write a short hello to Sam.' }],
      metadata: { campaign: 'spring' },
      temperature: 0.3,
      some_future_field: { a: 1 },
      // Streamed from the provider even for a non-streamed request: a hung provider shows by its first event.
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(forwarded?.authHeaders).toEqual(['api-key']);
    await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify(chatBody({ metadata: { task_type: 'content_planning' } })),
    });
    expect(azure.requests.at(-1)?.body).not.toHaveProperty('metadata');
  });

  it('accepts every OpenAI message role and content part', async () => {
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'developer', content: [{ type: 'text', text: 'no emojis' }] },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } },
              { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
              { type: 'file', file: { file_id: 'file-1' } },
            ],
          },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
          { role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] },
          { role: 'function', name: 'legacy', content: null },
        ],
        tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
        tool_choice: { type: 'function', function: { name: 'lookup' } },
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
        stop: ['\n\n'],
        n: 1,
        seed: 7,
        top_p: 0.9,
        max_completion_tokens: 50,
        user: 'fan-42',
      }),
    });
    expect(response.status).toBe(200);
  });

  it('streams server-sent events byte-compatible with OpenAI, ending with [DONE]', async () => {
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify(chatBody({ stream: true, stream_options: { include_usage: true } })),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-orchestrator-provider')).toBe('openai');
    const { raw, data } = await readSseData(response);
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(raw).toMatch(/^(data: [^\n]+\n\n)+$/);
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const chunk of chunks) expect(conformance('CreateChatCompletionStreamResponse', chunk)).toEqual([]);
    expect(chunks.at(-1).usage.total_tokens).toBeGreaterThan(0);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toContain('This answer comes from the local simulated upstream');
  });

  it('streams through the openai SDK, and drops Azure prompt-filter chunks so every chunk is an OpenAI chunk', async () => {
    const stream = await gw.client.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'plan my week' }], stream: true },
      { headers: { 'x-task-type': 'content_planning' } },
    );
    let text = '';
    let count = 0;
    for await (const chunk of stream) {
      count += 1;
      expect(conformance('CreateChatCompletionStreamResponse', chunk)).toEqual([]);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(count).toBeGreaterThan(3);
    expect(text).toContain('[simulated azure-openai gpt-4o]');
  });

  it('delivers stream chunks as they arrive, not buffered', async () => {
    const sim = gw.sims.openai!;
    sim.chunkDelayMs = 60;
    try {
      const started = Date.now();
      const response = await gw.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody({ stream: true })) });
      const reader = response.body!.getReader();
      const first = await reader.read();
      const firstAt = Date.now() - started;
      let rest = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      const total = Date.now() - started;
      expect(new TextDecoder().decode(first.value)).toMatch(/^data: /);
      expect(rest.endsWith('data: [DONE]\n\n')).toBe(true);
      // About 15 events 60 ms apart: the first must arrive long before the last.
      expect(total - firstAt).toBeGreaterThan(400);
    } finally {
      sim.chunkDelayMs = 0;
    }
  });
});

describe('GET /v1/models', () => {
  it('lists the routable models and the task aliases, in OpenAI shape', async () => {
    const page = await gw.client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toEqual(
      expect.arrayContaining(['gpt-4o', 'gpt-4o-mini', 'o4-mini', 'task:content_planning', 'task:message_generation', 'task:general']),
    );
    const raw = await (await gw.call('/v1/models')).json();
    expect(conformance('ListModelsResponse', raw)).toEqual([]);
    const one = await gw.client.models.retrieve('task:general');
    expect(one.owned_by).toBe('hybrid-orchestrator');
  });
});

describe('client going away', () => {
  it('cancels the upstream stream when the client disconnects mid-stream', async () => {
    const sim = gw.sims.openai!;
    sim.chunkDelayMs = 40;
    const before = sim.abandonedStreams;
    try {
      const controller = new AbortController();
      const response = await gw.call('/v1/chat/completions', {
        method: 'POST',
        body: JSON.stringify(chatBody({ stream: true })),
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      // Read until some answer text has arrived, then go away.
      let seen = '';
      while (!/"content":"[^"]+"/.test(seen)) seen += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      // The upstream notices at its next write (40 ms); allow for the tokenizer's first load on the way.
      for (let waited = 0; sim.abandonedStreams === before && waited < 3000; waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(sim.abandonedStreams).toBe(before + 1);
      await gw.gateway.background.drain();
      const record = (await gw.gateway.usage.recordsOfDay(new Date().toISOString().slice(0, 10))).find(
        (r) => r.requestId === response.headers.get('x-request-id'),
      );
      // Cut before the usage chunk: the delivered tokens were counted by the tokenizer, and flagged so.
      expect(record).toMatchObject({ tokensSource: 'estimated', status: 499, stream: true });
      expect(record!.inputTokens).toBeGreaterThan(0);
      expect(record!.outputTokens).toBeGreaterThan(0);
    } finally {
      sim.chunkDelayMs = 0;
    }
  });
});
