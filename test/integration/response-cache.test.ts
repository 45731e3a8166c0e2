/**
 * The response cache on the real app, dynalite and the simulated upstreams, with the official openai
 * SDK where a client matters: hits and misses, normalisation, isolation between users (the bug LiteLLM
 * #29955 describes), shared scopes, what is never stored, stream replay against OpenAI's chunk schema
 * (tool calls included), TTL and Cache-Control, concurrent misses, purge, and what a hit is billed.
 */
import OpenAI from 'openai';
import { CompletionAssembler } from '../../lambdas/core/ai/completion-assembler';
import type { UsageRecord } from '../../lambdas/core/metering/usage-record';
import { FakeClock } from '../helpers/fakes';
import { ADMIN_KEY, readSseData, startTestGateway, USER_KEY, type TestGateway } from '../helpers/local-gateway';
import { orchestratedFlagsFile } from '../helpers/flags';
import { conformance } from '../helpers/openai-schemas';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const DAY = '2026-11-26';

const flagsFile = (caching: Record<string, unknown>) => orchestratedFlagsFile({ response_caching: caching });

const body = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content }],
  max_tokens: 32,
  ...extra,
});

describe('response cache', () => {
  let gw: TestGateway;
  const clock = new FakeClock(T0);
  let unique = 0;
  const prompt = () => `cache test prompt ${++unique}`;
  const upstreamCalls = () => gw.sims.openai!.calls + gw.sims['azure-openai']!.calls;
  const post = (json: unknown, init: { key?: string; headers?: Record<string, string> } = {}) =>
    gw.call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...init.headers },
      body: typeof json === 'string' ? json : JSON.stringify(json),
      ...(init.key ? { key: init.key } : {}),
    });
  const recordOf = async (requestId: string | null): Promise<UsageRecord> => {
    await gw.gateway.background.drain();
    const found = (await gw.gateway.usage.recordsOfDay(DAY)).find((r) => r.requestId === requestId);
    expect(found).toBeDefined();
    return found!;
  };
  const newKey = async (userId: string, extra: Record<string, unknown> = {}) => {
    const response = await gw.call('/admin/api-keys', {
      method: 'POST',
      key: ADMIN_KEY,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId, plan: 'pro', ...extra }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { key: string }).key;
  };

  beforeAll(async () => {
    gw = await startTestGateway({ env: { FLAGS_FILE: flagsFile({ enabled: true }) }, overrides: { clock } });
  });
  afterAll(() => gw.close());
  afterEach(() => {
    gw.sims.openai!.setFault(undefined);
    gw.sims['azure-openai']!.setFault(undefined);
  });

  it('answers a repeated request from the cache: same body, no provider call, billed 0 with the cost it saved', async () => {
    const request = body(prompt());
    const first = await post(request);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const firstBody = await first.text();
    await gw.gateway.background.drain();
    const calls = upstreamCalls();

    clock.advance(5000);
    const second = await post(request);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.headers.get('x-cache-age')).toBe('5');
    expect(second.headers.get('x-cache-key')).toBe(first.headers.get('x-cache-key'));
    expect(second.headers.get('x-orchestrator-provider')).toBe(first.headers.get('x-orchestrator-provider'));
    expect(JSON.parse(await second.text())).toEqual(JSON.parse(firstBody));
    expect(upstreamCalls()).toBe(calls);

    const missRecord = await recordOf(first.headers.get('x-request-id'));
    const hitRecord = await recordOf(second.headers.get('x-request-id'));
    expect(missRecord).toMatchObject({ cache: 'miss' });
    expect(missRecord.costMicros).toBeGreaterThan(0);
    expect(hitRecord).toMatchObject({
      cache: 'hit',
      inputTokens: 0,
      outputTokens: 0,
      costMicros: 0,
      tokensSource: 'none',
      savedCostMicros: missRecord.costMicros,
      provider: missRecord.provider,
      status: 200,
    });
  });

  it('hits for the same request with keys reordered, JSON whitespace, stated defaults and fields that do not change the answer', async () => {
    const content = prompt();
    const first = await post(body(content));
    expect(first.headers.get('x-cache')).toBe('MISS');
    await gw.gateway.background.drain();
    const reordered = `{ "max_completion_tokens" : 32,\n  "messages": [ { "content": [{"type": "text", "text": ${JSON.stringify(content)}}], "role": "user" } ],
      "temperature": 1, "n": 1, "user": "someone-else", "stream": false, "model": "gpt-4o-mini" }`;
    const second = await post(reordered);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('HIT');
    // A different answer-changing field is a different entry.
    const third = await post(body(content, { temperature: 0.2 }));
    expect(third.headers.get('x-cache')).toBe('MISS');
  });

  it('keys smart-routed answers by their options too: the same prompt optimised for quality is not served the cost answer', async () => {
    const request = { ...body(prompt()), model: 'auto' };
    const cost = await post(request);
    expect(cost.headers.get('x-cache')).toBe('MISS');
    await gw.gateway.background.drain();
    expect((await post(request)).headers.get('x-cache')).toBe('HIT');
    const quality = await post({ ...request, optimize_for: 'quality' });
    expect(quality.headers.get('x-cache')).toBe('MISS');
    expect(quality.headers.get('x-cache-key')).not.toBe(cost.headers.get('x-cache-key'));
  });

  it('never serves one user the answers cached for another; keys an admin gave a shared scope share theirs', async () => {
    const request = body(prompt());
    expect((await post(request)).headers.get('x-cache')).toBe('MISS');
    await gw.gateway.background.drain();
    const otherUser = await newKey('cache-other-user');
    const other = await post(request, { key: otherUser });
    expect(other.status).toBe(200);
    expect(other.headers.get('x-cache')).toBe('MISS');

    const teamA = await newKey('team-member-a', { cacheScope: 'team-blue' });
    const teamB = await newKey('team-member-b', { cacheScope: 'team-blue' });
    const shared = body(prompt());
    expect((await post(shared, { key: teamA })).headers.get('x-cache')).toBe('MISS');
    await gw.gateway.background.drain();
    expect((await post(shared, { key: teamB })).headers.get('x-cache')).toBe('HIT');
    // Their scope is not the user's own: the default user does not see it.
    expect((await post(shared)).headers.get('x-cache')).toBe('MISS');
  });

  it('stores no error and no cut stream', async () => {
    const failing = body(prompt());
    gw.sims.openai!.setFault({ kind: 'status', status: 500 });
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 500 });
    const failed = await post(failing);
    expect(failed.status).toBe(502);
    gw.sims.openai!.setFault(undefined);
    gw.sims['azure-openai']!.setFault(undefined);
    await gw.gateway.background.drain();
    expect((await post(failing)).headers.get('x-cache')).toBe('MISS');

    const cut = body(prompt(), { stream: true });
    gw.sims.openai!.setFault({ kind: 'midstream' }, 1);
    const response = await post(cut);
    expect(response.status).toBe(200);
    const { data: events } = await readSseData(response);
    expect(events.at(-1)).toContain('"error"');
    await gw.gateway.background.drain();
    expect((await post(cut)).headers.get('x-cache')).toBe('MISS');
  });

  it('replays a cached answer as a stream of chunks that conform to OpenAI’s schema, tool calls included, and serves a stream’s answer to a plain request', async () => {
    const tools = {
      tools: [
        {
          type: 'function',
          function: {
            name: 'schedule_post',
            parameters: {
              type: 'object',
              properties: { platform: { type: 'string' }, hour: { type: 'integer' } },
              required: ['platform', 'hour'],
            },
          },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'schedule_post' } },
    };
    const request = body(prompt(), tools);
    // Stored from a plain request...
    const plain = await post(request);
    expect(plain.headers.get('x-cache')).toBe('MISS');
    const completion = (await plain.json()) as Record<string, unknown>;
    expect(conformance('CreateChatCompletionResponse', completion)).toEqual([]);
    await gw.gateway.background.drain();

    // ...replayed as a stream, usage chunk included when asked, read by the official SDK.
    const client = new OpenAI({ apiKey: USER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions
      .create({
        ...(request as unknown as OpenAI.ChatCompletionCreateParamsStreaming),
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    expect(response.headers.get('x-cache')).toBe('HIT');
    const assembler = new CompletionAssembler();
    let usageChunks = 0;
    for await (const chunk of stream) {
      expect(conformance('CreateChatCompletionStreamResponse', chunk)).toEqual([]);
      if (chunk.usage) usageChunks++;
      assembler.add(JSON.stringify(chunk));
    }
    expect(usageChunks).toBe(1);
    const replayed = assembler.result() as { choices: Array<{ message: { tool_calls: unknown } }> };
    const original = completion as { choices: Array<{ message: { tool_calls: unknown } }> };
    expect(replayed.choices[0]!.message.tool_calls).toEqual(original.choices[0]!.message.tool_calls);

    // A streamed miss is stored once complete and serves the plain request.
    const streamed: Record<string, unknown> = body(prompt(), { stream: true });
    const miss = await post(streamed);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    const text = (await readSseData(miss)).data
      .filter((d) => d !== '[DONE]')
      .map((d) => (JSON.parse(d) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    await gw.gateway.background.drain();
    const { stream: _stream, ...asPlain } = streamed;
    const hit = await post(asPlain);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    const hitBody = (await hit.json()) as { choices: Array<{ message: { content: string } }> };
    expect(conformance('CreateChatCompletionResponse', hitBody)).toEqual([]);
    expect(hitBody.choices[0]!.message.content).toBe(text);
  });

  it('follows Cache-Control (no-store: bypass, no-cache: refresh) and x-cache-ttl', async () => {
    const request = body(prompt());
    const bypass = await post(request, { headers: { 'cache-control': 'no-store' } });
    expect(bypass.headers.get('x-cache')).toBe('BYPASS');
    await gw.gateway.background.drain();
    expect((await post(request)).headers.get('x-cache')).toBe('MISS');
    await gw.gateway.background.drain();
    expect((await post(request)).headers.get('x-cache')).toBe('HIT');
    const calls = upstreamCalls();
    const refresh = await post(request, { headers: { 'cache-control': 'no-cache' } });
    expect(refresh.headers.get('x-cache')).toBe('REFRESH');
    expect(upstreamCalls()).toBe(calls + 1);
    await gw.gateway.background.drain();
    const afterRefresh = await post(request);
    expect(afterRefresh.headers.get('x-cache')).toBe('HIT');
    expect(afterRefresh.headers.get('x-cache-age')).toBe('0');

    const short = body(prompt());
    expect((await post(short, { headers: { 'x-cache-ttl': '60' } })).headers.get('x-cache')).toBe('MISS');
    await gw.gateway.background.drain();
    clock.advance(59_000);
    expect((await post(short)).headers.get('x-cache')).toBe('HIT');
    clock.advance(2000);
    expect((await post(short)).headers.get('x-cache')).toBe('MISS');

    const invalid = await post(short, { headers: { 'x-cache-ttl': 'forever' } });
    expect(invalid.status).toBe(400);
    expect(conformance('ErrorResponse', await invalid.json())).toEqual([]);
  });

  it('sends concurrent identical misses each to the provider and keeps one whole entry', async () => {
    const request = body(prompt());
    const calls = upstreamCalls();
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(request)));
    expect(answers.map((a) => a.headers.get('x-cache'))).toEqual(['MISS', 'MISS', 'MISS', 'MISS', 'MISS']);
    expect(upstreamCalls()).toBe(calls + 5);
    const bodies = await Promise.all(answers.map(async (a) => JSON.stringify(await a.json())));
    await gw.gateway.background.drain();
    const hit = await post(request);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(bodies).toContain(JSON.stringify(await hit.json()));
  });

  it('purges an entry or a whole scope on an admin’s request', async () => {
    const one = body(prompt());
    const two = body(prompt());
    const first = await post(one);
    await post(two);
    await gw.gateway.background.drain();
    const key = first.headers.get('x-cache-key')!;
    const purgeOne = await gw.call(`/admin/cache?userId=local-user&key=${key}`, { method: 'DELETE', key: ADMIN_KEY });
    expect(purgeOne.status).toBe(200);
    expect(await purgeOne.json()).toMatchObject({ object: 'cache.purge', deleted: 1 });
    expect((await post(one)).headers.get('x-cache')).toBe('MISS');
    expect((await post(two)).headers.get('x-cache')).toBe('HIT');

    const purgeAll = await gw.call('/admin/cache?userId=local-user', { method: 'DELETE', key: ADMIN_KEY });
    expect(((await purgeAll.json()) as { deleted: number }).deleted).toBeGreaterThan(1);
    expect((await post(two)).headers.get('x-cache')).toBe('MISS');

    const bad = await gw.call('/admin/cache', { method: 'DELETE', key: ADMIN_KEY });
    expect(bad.status).toBe(400);
    expect((await gw.call('/admin/cache?userId=local-user', { method: 'DELETE' })).status).toBe(403);
  });

  it('caches the legacy endpoints too, in their own shape', async () => {
    const legacy = () =>
      gw.call('/api/ai/messages/generate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ creatorId: 'creator-1', fanId: 'fan-1', fanName: 'Sam', instructions: `cache legacy ${unique}` }),
      });
    prompt();
    const first = await legacy();
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const firstBody = (await first.json()) as { message: string; model: string };
    await gw.gateway.background.drain();
    const second = await legacy();
    expect(second.headers.get('x-cache')).toBe('HIT');
    const secondBody = (await second.json()) as { message: string; model: string };
    expect(secondBody.message).toBe(firstBody.message);
    expect(secondBody.model).toBe(firstBody.model);
  });
});

describe('response cache switched off', () => {
  it('does nothing for users the flag does not cover', async () => {
    const gw = await startTestGateway({ env: { FLAGS_FILE: flagsFile({ enabled: true, deny_users: ['local-user'] }) } });
    try {
      const request = JSON.stringify(body('not cached'));
      const call = () =>
        gw.call('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: request });
      const first = await call();
      await gw.gateway.background.drain();
      const second = await call();
      expect(second.status).toBe(200);
      expect(first.headers.get('x-cache')).toBeNull();
      expect(second.headers.get('x-cache')).toBeNull();
      expect(gw.sims.openai!.calls + gw.sims['azure-openai']!.calls).toBe(2);
    } finally {
      await gw.close();
    }
  });
});
