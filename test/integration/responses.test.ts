/**
 * `POST /v1/responses` on the real app, dynalite and the simulated upstreams: the official openai SDK
 * and the Vercel AI SDK's default OpenAI provider (which calls the Responses API, and `/embeddings`
 * for `embed`) end to end, plain and streamed; events passed through with their names and no `[DONE]`;
 * usage from the answer or the final event; fallback before the first event; a failure mid-stream as
 * a Responses `error` event; edge validation.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { conformance } from '../helpers/openai-schemas';
import { clearFaults, startTestGateway, usageRecordOf, USER_KEY, type TestGateway } from '../helpers/local-gateway';

const run = promisify(execFile);

describe('/v1/responses', () => {
  let gw: TestGateway;
  const post = (body: unknown) =>
    gw.call('/v1/responses', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const recordOf = (requestId: string | null) => usageRecordOf(gw, requestId);
  /** The events of an SSE body: name and parsed data. */
  const eventsOf = (text: string) =>
    text
      .split('\n\n')
      .filter((block) => block.trim() !== '')
      .map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1],
        data: /^data: (.*)$/m.exec(block)?.[1] ?? '',
      }));

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.close());
  afterEach(() => clearFaults(gw));

  it('answers the official SDK, passing the body through (gateway hints removed) and billing the usage it reports', async () => {
    const { data: response, response: raw } = await gw.client.responses
      .create({
        model: 'gpt-4o-mini',
        input: 'Say hello to Sam',
        instructions: 'Be brief.',
        metadata: { task_type: 'general', campaign: 'c1' },
      })
      .withResponse();
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toContain('simulated openai gpt-4o-mini');
    expect(response.usage!.input_tokens).toBeGreaterThan(0);
    const sent = gw.sims.openai!.requests.at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).toEqual({ model: 'gpt-4o-mini', input: 'Say hello to Sam', instructions: 'Be brief.', metadata: { campaign: 'c1' } });
    const record = await recordOf(raw.headers.get('x-request-id'));
    expect(record).toMatchObject({
      route: '/v1/responses',
      provider: 'openai',
      model: 'gpt-4o-mini',
      inputTokens: response.usage!.input_tokens,
      outputTokens: response.usage!.output_tokens,
      tokensSource: 'provider',
      status: 200,
    });
    expect(record.costMicros).toBeGreaterThan(0);
  });

  it('streams typed events with their names, ending with response.completed and no [DONE]; the official SDK reads them', async () => {
    const raw = await post({ model: 'gpt-4o-mini', input: 'Stream to me', stream: true });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toContain('text/event-stream');
    const events = eventsOf(await raw.text());
    expect(events.every((e) => e.data !== '[DONE]')).toBe(true);
    expect(events.every((e) => e.event === (JSON.parse(e.data) as { type: string }).type)).toBe(true);
    expect(events[0]!.event).toBe('response.created');
    expect(events.at(-1)!.event).toBe('response.completed');
    const record = await recordOf(raw.headers.get('x-request-id'));
    expect(record).toMatchObject({ route: '/v1/responses', stream: true, tokensSource: 'provider', status: 200 });
    expect(record.outputTokens).toBeGreaterThan(0);

    const stream = await gw.client.responses.create({ model: 'gpt-4o-mini', input: 'Stream to the SDK', stream: true });
    let text = '';
    let completed = false;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = true;
    }
    expect(completed).toBe(true);
    expect(text).toContain('Stream to the SDK');
  });

  it('falls back before the first event: Azure gets the Responses call with its deployment as the model', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 503 });
    const response = await post({ model: 'gpt-4o-mini', input: 'fallback', stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-provider')).toBe('azure-openai');
    expect(response.headers.get('x-orchestrator-fallback')).toBe('true');
    expect(eventsOf(await response.text()).at(-1)!.event).toBe('response.completed');
    const sent = gw.sims['azure-openai']!.requests.at(-1)!;
    expect(sent.path).toMatch(/^\/openai\/responses\?api-version=/);
    expect(sent.body).toMatchObject({ model: 'gpt-4o-mini', stream: true });
  });

  it('passes back a 404 about what the caller sent (an input item that does not exist), without falling back', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 404, param: 'input' }, 1);
    const azureBefore = gw.sims['azure-openai']!.calls;
    const response = await post({ model: 'gpt-4o-mini', input: [{ type: 'item_reference', id: 'rs_gone' }] });
    expect(response.status).toBe(404);
    expect((await response.json()).error).toMatchObject({ param: 'input' });
    expect(gw.sims['azure-openai']!.calls).toBe(azureBefore);
  });

  it('ends a stream the provider cuts with a Responses error event, and records the failure', async () => {
    gw.sims.openai!.setFault({ kind: 'midstream' }, 1);
    const response = await post({ model: 'gpt-4o-mini', input: 'cut me', stream: true });
    expect(response.status).toBe(200);
    const events = eventsOf(await response.text()).map((e) => JSON.parse(e.data) as { type: string; sequence_number: number });
    // Numbered after the last event the provider sent, as the SDKs' schemas require.
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'stream_interrupted', sequence_number: events.at(-2)!.sequence_number + 1 });
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record.errorClass).not.toBeNull();
    // Cut before its final event: estimated from the request's input, not left at the priming tokens.
    expect(record.tokensSource).toBe('estimated');
    expect(record.inputTokens).toBeGreaterThan(3);
  });

  it.each([
    ['model "auto"', { model: 'auto', input: 'x' }, 400],
    ['an unknown model', { model: 'gpt-9', input: 'x' }, 404],
    ['no model', { input: 'x' }, 400],
    ['a number as input', { model: 'gpt-4o-mini', input: 42 }, 400],
    ['background mode (neither billed nor retrievable through the gateway)', { model: 'gpt-4o-mini', input: 'x', background: true }, 400],
    ['an unknown task type', { model: 'gpt-4o-mini', input: 'x', metadata: { task_type: 'nope' } }, 400],
    [
      '17 metadata pairs',
      { model: 'gpt-4o-mini', input: 'x', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) },
      400,
    ],
  ])('refuses %s in OpenAI shape without calling a provider', async (_, body, status) => {
    const calls = gw.sims.openai!.calls + gw.sims['azure-openai']!.calls;
    const response = await post(body);
    expect(response.status).toBe(status);
    expect(conformance('ErrorResponse', await response.json())).toEqual([]);
    expect(gw.sims.openai!.calls + gw.sims['azure-openai']!.calls).toBe(calls);
  });

  it("serves the Vercel AI SDK's default OpenAI provider: generateText and streamText on /v1/responses, embed on /v1/embeddings", async () => {
    const before = gw.sims.openai!.calls;
    const { stdout } = await run(process.execPath, [join(__dirname, '..', 'helpers', 'ai-sdk-client.mjs'), `${gw.url}/v1`, USER_KEY], {
      timeout: 30_000,
    });
    const result = JSON.parse(stdout) as {
      generated: { text: string; inputTokens: number };
      streamed: { text: string; outputTokens: number };
      embedded: { dimensions: number };
    };
    expect(result.generated.text).toContain('Hello from the AI SDK');
    expect(result.generated.inputTokens).toBeGreaterThan(0);
    expect(result.streamed.text).toContain('Streaming from the AI SDK');
    expect(result.streamed.outputTokens).toBeGreaterThan(0);
    expect(result.embedded.dimensions).toBe(1536);
    expect(gw.sims.openai!.requestsSince(before).map((r) => r.path)).toEqual(['/v1/responses', '/v1/responses', '/v1/embeddings']);
  });
});
