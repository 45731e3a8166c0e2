/**
 * Providers managed at runtime through the real app (`/admin/providers`): create, read, replace and
 * delete; a real test call; usage per provider; keys never returned nor logged; changes that would leave
 * a task without a reachable target refused; and a runtime default provider taking part in fallback.
 */
import { SimulatedUpstream } from '../../lambdas/local/simulated-upstream';
import { openAiDialect } from '../../lambdas/adapters/providers/openai-compatible/simulated-dialect';
import { CapturingTelemetry } from '../helpers/fakes';
import { ADMIN_KEY, clearFaults, expectStatus, startTestGateway, type TestGateway } from '../helpers/local-gateway';

const TOGETHER_KEY = 'tgp-secret-key-0123456789abcdef';
const chatBody = () => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Write a short hello to Sam.' }] });

describe('providers managed at runtime', () => {
  let gw: TestGateway;
  let together: SimulatedUpstream;
  let baseURL: string;
  const telemetry = new CapturingTelemetry();

  const admin = (path: string, init: RequestInit = {}) => gw.call(path, { ...init, key: ADMIN_KEY });
  const json = async (response: Response) => (await response.json()) as Record<string, any>;
  const create = (body: Record<string, unknown>) => admin('/admin/providers', { method: 'POST', body: JSON.stringify(body) });
  const togetherConfig = (extra: Record<string, unknown> = {}) => ({
    type: 'openai-compatible',
    baseURL,
    apiKey: TOGETHER_KEY,
    models: ['llama-3.3-70b'],
    ...extra,
  });

  beforeAll(async () => {
    together = new SimulatedUpstream({ provider: 'together', dialect: openAiDialect, apiKey: TOGETHER_KEY, chunkDelayMs: 0 });
    baseURL = await together.listen();
    gw = await startTestGateway({ overrides: { telemetry } });
  });
  afterAll(async () => {
    await gw.close();
    await together.close();
  });
  afterEach(() => {
    clearFaults(gw);
    together.setFault(undefined);
  });

  it('lists the providers of the route table with where their configuration comes from, and no key', async () => {
    const response = await admin('/admin/providers');
    await expectStatus(response, 200);
    const body = await json(response);
    expect(body['data'].map((p: { id: string }) => p.id)).toEqual(['openai', 'azure-openai', 'bedrock']);
    expect(body['data'][0]).toMatchObject({
      id: 'openai',
      object: 'provider',
      source: 'route_table',
      type: 'openai',
      active: true,
      default: false,
      priority: 0,
      credentials: { configured: true, source: 'environment' },
    });
    expect(JSON.stringify(body)).not.toMatch(/apiKey|sk-simulated/);
  });

  it('creates an OpenAI-compatible provider, routes to it, tests it and reports its usage; its key is never shown', async () => {
    const created = await create({ id: 'together', ...togetherConfig() });
    await expectStatus(created, 201);
    const described = await json(created);
    expect(described).toMatchObject({
      id: 'together',
      source: 'runtime',
      type: 'openai-compatible',
      baseURL,
      models: ['llama-3.3-70b'],
      credentials: { configured: true, source: 'runtime' },
      updatedBy: expect.any(String),
    });
    expect(JSON.stringify(described)).not.toContain(TOGETHER_KEY);

    // A client naming its model is routed to it (the task's targets stay its fallback).
    const { response } = await gw.client.chat.completions
      .create({ model: 'llama-3.3-70b', messages: [{ role: 'user', content: 'Hello from a runtime provider.' }] })
      .withResponse();
    expect(response.headers.get('x-orchestrator-provider')).toBe('together');
    expect(together.requests.at(-1)!.authHeaders).toEqual(['authorization']);

    const test = await admin('/admin/providers/together/test', { method: 'POST' });
    await expectStatus(test, 200);
    expect(await json(test)).toMatchObject({ id: 'together', ok: true, model: 'llama-3.3-70b', latencyMs: expect.any(Number) });

    const usage = await admin('/admin/providers/together/usage');
    await expectStatus(usage, 200);
    const report = await json(usage);
    expect(report['data']).toEqual([expect.objectContaining({ key: 'llama-3.3-70b', requests: 1 })]);

    for (const path of ['/admin/providers', '/admin/providers/together'])
      expect(await (await admin(path)).text()).not.toContain(TOGETHER_KEY);
    // The audit log line names the change and who made it, never the key.
    const audit = telemetry.events.filter((e) => e.message === 'provider configuration changed');
    expect(audit.at(-1)!.context).toMatchObject({ action: 'create', provider: 'together', keySet: true, by: expect.any(String) });
    expect(JSON.stringify(telemetry.events)).not.toContain(TOGETHER_KEY);
  });

  it('tests with the credentials it has: a wrong key is a failed test with the reason', async () => {
    const replaced = await admin('/admin/providers/together', {
      method: 'PUT',
      body: JSON.stringify(togetherConfig({ apiKey: 'tgp-wrong-key-00000000' })),
    });
    await expectStatus(replaced, 200);
    const test = await json(
      await admin('/admin/providers/together/test', { method: 'POST', body: JSON.stringify({ model: 'llama-3.3-70b' }) }),
    );
    expect(test).toMatchObject({ ok: false, error: { type: 'auth', status: 401 } });
    // Back to the right key; a replace without a key keeps the stored one.
    await expectStatus(await admin('/admin/providers/together', { method: 'PUT', body: JSON.stringify(togetherConfig()) }), 200);
    const { apiKey: _omitted, ...withoutKey } = togetherConfig({ models: ['llama-3.3-70b', 'mixtral-8x7b'] });
    await expectStatus(await admin('/admin/providers/together', { method: 'PUT', body: JSON.stringify(withoutKey) }), 200);
    expect(await json(await admin('/admin/providers/together/test', { method: 'POST' }))).toMatchObject({ ok: true });
    expect((await json(await admin('/admin/providers/together')))['models']).toEqual(['llama-3.3-70b', 'mixtral-8x7b']);
  });

  it('makes a default provider the last resort of every task', async () => {
    await expectStatus(
      await admin('/admin/providers/together', { method: 'PUT', body: JSON.stringify(togetherConfig({ default: true })) }),
      200,
    );
    gw.sims['openai']!.setFault({ kind: 'status', status: 500 });
    gw.sims['azure-openai']!.setFault({ kind: 'status', status: 500 });
    const { response } = await gw.client.chat.completions.create(chatBody()).withResponse();
    expect(response.headers.get('x-orchestrator-provider')).toBe('together');
    expect(response.headers.get('x-orchestrator-model')).toBe('llama-3.3-70b');
  });

  it('overrides a built-in provider and refuses a change that would leave a task without a reachable target', async () => {
    await expectStatus(
      await admin('/admin/providers/together', { method: 'PUT', body: JSON.stringify(togetherConfig({ default: false })) }),
      200,
    );
    const openAiOff = await admin('/admin/providers/openai', {
      method: 'PUT',
      body: JSON.stringify({ type: 'openai', models: ['gpt-4o', 'gpt-4o-mini'], active: false }),
    });
    await expectStatus(openAiOff, 200);
    // OpenAI is out: message generation now starts at Azure OpenAI.
    const { response } = await gw.client.chat.completions
      .create(chatBody(), { headers: { 'x-task-type': 'message_generation' } })
      .withResponse();
    expect(response.headers.get('x-orchestrator-provider')).toBe('azure-openai');

    const azureOff = await admin('/admin/providers/azure-openai', {
      method: 'PUT',
      body: JSON.stringify({ type: 'azure-openai', models: ['gpt-4o', 'gpt-4o-mini'], active: false }),
    });
    await expectStatus(azureOff, 400);
    expect((await json(azureOff))['error']).toMatchObject({ code: 'task_unreachable', type: 'invalid_request_error' });
    // Nothing was saved: Azure OpenAI still answers.
    expect((await json(await admin('/admin/providers/azure-openai')))['source']).toBe('route_table');

    const restored = await admin('/admin/providers/openai', { method: 'DELETE' });
    await expectStatus(restored, 200);
    expect((await json(restored))['source']).toBe('route_table');
    const back = await gw.client.chat.completions.create(chatBody(), { headers: { 'x-task-type': 'message_generation' } }).withResponse();
    expect(back.response.headers.get('x-orchestrator-provider')).toBe('openai');
  });

  it('never sends a key in force to a new destination: a new baseURL or endpoint needs its key in the same request', async () => {
    const moved = await admin('/admin/providers/openai', {
      method: 'PUT',
      body: JSON.stringify({ type: 'openai', baseURL: 'https://collector.example/v1', models: ['gpt-4o', 'gpt-4o-mini'] }),
    });
    await expectStatus(moved, 400);
    expect((await json(moved))['error']).toMatchObject({ code: 'api_key_required', param: 'apiKey' });
    // Not by taking it out first either: the destination is compared as if it were active.
    const off = await admin('/admin/providers/openai', {
      method: 'PUT',
      body: JSON.stringify({ type: 'openai', models: ['gpt-4o', 'gpt-4o-mini'], active: false }),
    });
    await expectStatus(off, 200);
    const back = await admin('/admin/providers/openai', {
      method: 'PUT',
      body: JSON.stringify({ type: 'openai', baseURL: 'https://collector.example/v1', models: ['gpt-4o', 'gpt-4o-mini'] }),
    });
    await expectStatus(back, 400);
    await expectStatus(await admin('/admin/providers/openai', { method: 'DELETE' }), 200);
    const { apiKey: _key, ...keyless } = togetherConfig({ baseURL: 'https://collector.example/v1' });
    await expectStatus(await admin('/admin/providers/together', { method: 'PUT', body: JSON.stringify(keyless) }), 400);
    expect((await json(await admin('/admin/providers/together')))['baseURL']).toBe(baseURL);
  });

  it('takes an inactive provider out entirely: its models are no longer served by name, and it is listed as inactive', async () => {
    await expectStatus(
      await admin('/admin/providers/together', { method: 'PUT', body: JSON.stringify(togetherConfig({ active: false })) }),
      200,
    );
    const asked = await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ ...chatBody(), model: 'llama-3.3-70b' }),
    });
    expect(asked.status).toBe(404);
    expect(await json(await admin('/admin/providers/together'))).toMatchObject({
      active: false,
      models: ['llama-3.3-70b'],
      source: 'runtime',
    });
    await expectStatus(await admin('/admin/providers/together', { method: 'PUT', body: JSON.stringify(togetherConfig()) }), 200);
  });

  it('lets a runtime Bedrock configuration use only the models the deployment granted', async () => {
    const outside = await admin('/admin/providers/bedrock', {
      method: 'PUT',
      body: JSON.stringify({ type: 'bedrock', models: ['claude-opus'] }),
    });
    await expectStatus(outside, 400);
    expect((await json(outside))['error']).toMatchObject({ param: 'models' });
    const narrowed = await admin('/admin/providers/bedrock', {
      method: 'PUT',
      body: JSON.stringify({
        type: 'bedrock',
        models: ['claude-3-5-haiku'],
        deployments: { 'claude-3-5-haiku': 'us.anthropic.claude-3-5-haiku-20241022-v1:0' },
      }),
    });
    await expectStatus(narrowed, 200);
    await expectStatus(await admin('/admin/providers/bedrock', { method: 'DELETE' }), 200);
  });

  it.each([
    [{ id: 'together', type: 'openai-compatible', baseURL: 'https://x.example/v1', models: ['m'] }, 409, 'conflict'],
    [{ id: 'openai', type: 'openai-compatible', baseURL: 'https://x.example/v1', models: ['m'] }, 400, 'invalid_type'],
    [{ id: 'groq', type: 'openai', models: ['m'] }, 400, 'invalid_type'],
    [{ id: 'local', type: 'openai-compatible', baseURL: 'https://x.example/v1', models: ['m'] }, 400, 'invalid_id'],
    [{ id: 'groq', type: 'openai-compatible', models: ['m'] }, 400, 'invalid_provider_config'],
    [
      { id: 'groq', type: 'openai-compatible', baseURL: 'https://x.example/v1', models: ['m'], region: 'us-east-1' },
      400,
      'invalid_provider_config',
    ],
    [
      { id: 'groq', type: 'openai-compatible', baseURL: 'https://x.example/v1', models: ['m'], headers: { 'x-api-key': 'k' } },
      400,
      'invalid_provider_config',
    ],
    [{ id: 'groq', type: 'openai-compatible', baseURL: 'https://x.example/v1', models: [] }, 400, null],
    [{ id: 'groq', type: 'openai-compatible', baseURL: 'https://x.example/v1', models: ['m'], secret: 'x' }, 400, null],
    // A key in a destination URL would be stored, logged and shown: keys go in apiKey.
    [{ id: 'groq', type: 'openai-compatible', baseURL: 'https://user:pass@x.example/v1', models: ['m'] }, 400, null],
    [{ id: 'openai', type: 'openai', baseURL: 'https://x.example/v1?key=secret', models: ['m'] }, 400, 'invalid_value'],
    [{ id: 'azure-openai', type: 'azure-openai', endpoint: 'https://u:p@r.openai.azure.com', models: ['m'] }, 400, 'invalid_value'],
    // Not a URL at all: a 400, not a failure of the check above.
    [{ id: 'groq', type: 'openai-compatible', baseURL: 'not a url', models: ['m'] }, 400, null],
  ])('refuses %j with %d', async (body, status, code) => {
    const response = await create(body);
    await expectStatus(response, status);
    const error = (await json(response))['error'];
    expect(error.type).toBe('invalid_request_error');
    if (code) expect(error.code).toBe(code);
    expect((await admin('/admin/providers/groq')).status).toBe(404);
  });

  it('deletes a runtime provider with its key; only admins may manage providers', async () => {
    expect((await gw.call('/admin/providers')).status).toBe(403);
    const deleted = await admin('/admin/providers/together', { method: 'DELETE' });
    await expectStatus(deleted, 200);
    expect(await json(deleted)).toEqual({ id: 'together', object: 'provider', deleted: true });
    expect((await admin('/admin/providers/together')).status).toBe(404);
    expect((await admin('/admin/providers/together', { method: 'DELETE' })).status).toBe(404);
    // Its model is gone with it.
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ ...chatBody(), model: 'llama-3.3-70b' }),
    });
    expect(response.status).toBe(404);
  });

  it('finds no provider under a name every JavaScript object has, nor under a name no provider can have', async () => {
    for (const id of ['constructor', 'toString', '__proto__', 'x'.repeat(300)]) {
      for (const [method, path] of [
        ['GET', `/admin/providers/${id}`],
        ['POST', `/admin/providers/${id}/test`],
        ['GET', `/admin/providers/${id}/usage`],
        ['DELETE', `/admin/providers/${id}`],
      ] as const) {
        const response = await admin(path, { method });
        expect([method, path.slice(0, 40), response.status]).toEqual([method, path.slice(0, 40), method === 'DELETE' ? 400 : 404]);
        expect((await json(response))['error']['message'].length).toBeLessThan(200);
      }
    }
    // Nor can one be created under such a name.
    const created = await create({ id: 'constructor', ...togetherConfig() });
    expect(created.status).toBe(400);
    expect((await json(created))['error']).toMatchObject({ code: 'invalid_id', param: 'id' });
  });

  it('reads the test call’s optional body like any JSON body: no body, JSON, or a 400 / 415 in OpenAI shape', async () => {
    expect((await admin('/admin/providers/openai/test', { method: 'POST' })).status).toBe(200);
    expect((await admin('/admin/providers/openai/test', { method: 'POST', body: '{"model":"gpt-4o-mini"}' })).status).toBe(200);
    const garbled = await admin('/admin/providers/openai/test', { method: 'POST', body: '{"model":' });
    expect([garbled.status, (await json(garbled))['error']['code']]).toEqual([400, 'invalid_json']);
    const form = await admin('/admin/providers/openai/test', {
      method: 'POST',
      body: 'model=gpt-4o-mini',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([form.status, (await json(form))['error']['code']]).toEqual([415, 'unsupported_media_type']);
  });

  it('answers a wrong method on a provider route with 405 and the methods it accepts', async () => {
    for (const [method, path, allow] of [
      ['PATCH', '/admin/providers/openai', 'GET, PUT, DELETE'],
      ['GET', '/admin/providers/openai/test', 'POST'],
      ['POST', '/admin/providers/openai/usage', 'GET'],
      ['DELETE', '/admin/providers', 'GET, POST'],
    ] as const) {
      const response = await admin(path, { method });
      expect([path, response.status, response.headers.get('allow')]).toEqual([path, 405, allow]);
      expect((await json(response))['error']['code']).toBe('method_not_allowed');
    }
  });
});
