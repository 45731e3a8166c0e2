/**
 * The AI routes in-process (`app.request()`), on the real AI-request service, orchestrator, key
 * check and flag store, with scripted providers and in-memory stores: no DynamoDB, no sockets.
 */
import { Hono } from 'hono';
import defaultRoutes from '../../../config/routes.json';
import { ApiKeyService } from '../../../lambdas/core/access/api-keys';
import { AiRequests } from '../../../lambdas/core/ai/ai-requests';
import { Orchestrator } from '../../../lambdas/core/ai/orchestrator';
import { parseRouteTable } from '../../../lambdas/core/ai/route-table';
import { BackgroundTasks } from '../../../lambdas/core/background';
import type { RequestSummary } from '../../../lambdas/core/request-summary';
import { FlagStore } from '../../../lambdas/core/rollout/flag-store';
import { flagDocument, SAFE_DEFAULT_FLAGS } from '../../../lambdas/core/rollout/flags';
import { recordRequests } from '../../../lambdas/http/app';
import { authenticate } from '../../../lambdas/http/auth';
import type { AppEnv } from '../../../lambdas/http/context';
import { chatRoutes } from '../../../lambdas/http/routes/chat';
import { legacyAiRoutes } from '../../../lambdas/http/routes/legacy-ai';
import {
  CapturingTelemetry,
  directory,
  FakeClock,
  InMemoryApiKeyStore,
  ScriptedProvider,
  ScriptedRandom,
  StaticFlagSource,
  type Step,
} from '../../helpers/fakes';

const KEY = 'sk-route-test-key-0001';

async function setup(openai: Step[], azure: Step[], rollout = { enabled: true, rollout_percentage: 100 }) {
  const clock = new FakeClock();
  const telemetry = new CapturingTelemetry();
  const background = new BackgroundTasks((error) => telemetry.error('post-response work failed', { error }));
  const providers = { openai: new ScriptedProvider('openai', openai), 'azure-openai': new ScriptedProvider('azure-openai', azure) };
  const table = parseRouteTable(defaultRoutes, 'config/routes.json');
  const flags = new FlagStore(new StaticFlagSource(flagDocument({ allow_users: [], deny_users: [], ...rollout })), clock, telemetry, {
    refreshMs: 60_000,
    maxStaleMs: 120_000,
    waitMs: 100,
    defaults: SAFE_DEFAULT_FLAGS,
  });
  const ai = new AiRequests({
    orchestrator: new Orchestrator({ providers: directory(providers), clock, random: new ScriptedRandom([0]), deadlineMs: 60_000 }),
    routes: () => table,
    legacyTarget: { provider: 'openai', model: 'gpt-4o-mini' },
    flags,
    clock,
    tokens: { count: (text) => Math.ceil(text.length / 4) },
    background,
  });
  const apiKeys = new ApiKeyService(new InMemoryApiKeyStore(), clock, new ScriptedRandom(), {
    cacheTtlMs: 30_000,
    negativeCacheTtlMs: 5000,
    maxCacheEntries: 100,
  });
  await apiKeys.register(KEY, { userId: 'u_1', plan: 'pro', role: 'user' });
  const summaries: RequestSummary[] = [];
  let n = 0;
  const app = new Hono<AppEnv>();
  app.use('*', recordRequests({ clock, newRequestId: () => `req_${++n}`, summaries: (summary) => summaries.push(summary) }));
  app.use('*', authenticate({ apiKeys, telemetry }, 'user'));
  app.route('/', chatRoutes({ ai }));
  app.route('/', legacyAiRoutes({ ai }));
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  return { post, summaries, providers, background };
}

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hi to Sam' }],
  ...extra,
});

describe('POST /v1/chat/completions in-process', () => {
  it('answers with the provider body and the routing headers, and records one summary with usage', async () => {
    const { post, summaries } = await setup([{ ok: true, text: 'hi Sam' }], []);
    const response = await post('/v1/chat/completions', chat());
    expect(response.status).toBe(200);
    expect((await response.json()).choices[0].message.content).toBe('hi Sam');
    expect(
      Object.fromEntries(
        ['x-orchestrator-path', 'x-orchestrator-provider', 'x-orchestrator-attempts', 'x-request-id'].map((h) => [
          h,
          response.headers.get(h),
        ]),
      ),
    ).toEqual({
      'x-orchestrator-path': 'orchestrated',
      'x-orchestrator-provider': 'openai',
      'x-orchestrator-attempts': '1',
      'x-request-id': 'req_1',
    });
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({
      status: 200,
      userId: 'u_1',
      rollout: { path: 'orchestrated' },
      ai: { outcome: 'ok', usage: { totalTokens: 18 }, usageSource: 'provider' },
    });
  });

  it('maps an upstream failure to its status and puts the error code in the summary', async () => {
    const down = { fail: { errorClass: 'server_error' as const, status: 500 } };
    const { post, summaries } = await setup([down, down], [down, down]);
    const response = await post('/v1/chat/completions', chat());
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({
      error: {
        message: 'All providers failed; last error: server_error (HTTP 500).',
        type: 'api_error',
        param: null,
        code: 'upstream_error',
      },
    });
    expect(summaries[0]).toMatchObject({ status: 502, errorCode: 'upstream_error', ai: { outcome: 'error', errorClass: 'server_error' } });
  });

  it('passes a provider refusal through with its own status and body', async () => {
    const body = { error: { message: 'bad messages', type: 'invalid_request_error', param: 'messages', code: 'invalid_value' } };
    const { post, summaries, providers } = await setup([{ fail: { errorClass: 'bad_request', status: 400, body } }], []);
    const response = await post('/v1/chat/completions', chat());
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(body);
    expect(providers['azure-openai'].calls).toHaveLength(0);
    expect(summaries[0]).toMatchObject({ errorCode: 'invalid_value', ai: { errorClass: 'bad_request' } });
  });

  it.each(['gpt-5', 'o3', 'made-up-model'])(
    'answers 404 model_not_found for %s, a model no target serves, without calling a provider',
    async (model) => {
      const { post, providers } = await setup([], []);
      const response = await post('/v1/chat/completions', chat({ model }));
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: 'model_not_found', param: 'model', type: 'invalid_request_error' } });
      expect(providers.openai.calls).toHaveLength(0);
    },
  );

  it('serves a dated snapshot a target lists, and task aliases still choose', async () => {
    const { post, providers } = await setup([{ ok: true }, { ok: true }], []);
    expect((await post('/v1/chat/completions', chat({ model: 'gpt-4o-2024-08-06' }))).status).toBe(200);
    expect(providers.openai.calls[0]?.upstreamModel).toBe('gpt-4o-2024-08-06');
    expect((await post('/v1/chat/completions', chat({ model: 'task:message_generation' }))).status).toBe(200);
  });

  it('answers 400 naming the header for an unknown task, without calling a provider', async () => {
    const { post, providers } = await setup([], []);
    const response = await post('/v1/chat/completions', chat(), { 'x-task-type': 'poetry' });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({ param: 'x-task-type', code: 'invalid_task_type' });
    expect(providers.openai.calls).toHaveLength(0);
  });

  it('streams server-sent events, hides the usage chunk the client did not ask for, and records once when the stream ends', async () => {
    const events = [
      '{"choices":[{"index":0,"delta":{"content":"hi"}}]}',
      '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}',
    ];
    const { post, summaries, providers } = await setup([{ events }], []);
    const response = await post('/v1/chat/completions', chat({ stream: true }));
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(summaries).toHaveLength(0);
    expect(await response.text()).toBe(`data: ${events[0]}\n\ndata: [DONE]\n\n`);
    expect(providers.openai.calls[0]?.body['stream_options']).toEqual({ include_usage: true });
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({
      status: 200,
      ai: { stream: true, outcome: 'ok', usage: { totalTokens: 4 }, usageSource: 'provider' },
    });
  });

  it('ends a stream that fails mid-way with an error event, and records the stream error', async () => {
    const { post, summaries, background } = await setup(
      [{ events: ['{"choices":[{"index":0,"delta":{"content":"hi"}}]}'], thenFail: { errorClass: 'connection_reset' } }],
      [],
    );
    const response = await post('/v1/chat/completions', chat({ stream: true }));
    const text = await response.text();
    expect(text).toContain('"code":"stream_interrupted"');
    expect(text).not.toContain('[DONE]');
    await background.drain();
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.ai).toMatchObject({ outcome: 'stream_error', errorClass: 'connection_reset', usageSource: 'estimated' });
  });
});

describe('legacy AI endpoints in-process', () => {
  it('answer in the legacy shape on the legacy path when the flag is off', async () => {
    const { post, summaries } = await setup([{ ok: true, text: 'Hey Sam!' }], [], { enabled: false, rollout_percentage: 0 });
    const response = await post('/api/ai/messages/generate', { creatorId: 'c_1', fanId: 'f_1', fanName: 'Sam' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-path')).toBe('legacy');
    expect(await response.json()).toEqual({
      message: 'Hey Sam!',
      model: 'gpt-4o-mini',
      requestId: 'req_1',
      usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 },
    });
    expect(summaries[0]).toMatchObject({ rollout: { path: 'legacy' }, ai: { taskType: 'message_generation', taskSource: 'endpoint' } });
  });

  it('answer 502 UPSTREAM_ERROR when every provider failed, and when the answer has no text', async () => {
    const down = { fail: { errorClass: 'timeout' as const } };
    const { post, summaries } = await setup([down, { ok: true, text: '  ' }], [down]); // a timeout is not retried: one call per target
    const failed = await post('/api/ai/content/plan', { creatorId: 'c_1', platforms: ['onlyfans'], goals: 'grow' });
    expect(failed.status).toBe(502);
    expect((await failed.json()).error).toMatchObject({ code: 'UPSTREAM_ERROR', message: expect.stringContaining('(timeout)') });
    const empty = await post('/api/ai/messages/generate', { creatorId: 'c_1', fanId: 'f_1' });
    expect(empty.status).toBe(502);
    expect((await empty.json()).error).toEqual({ code: 'UPSTREAM_ERROR', message: 'The AI provider returned no text.' });
    expect(summaries.map((s) => s.ai?.outcome)).toEqual(['error', 'error']);
  });
});
