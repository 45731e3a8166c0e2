/**
 * OpenAI-compatible endpoints as providers of their own, named in the route table: a "real" endpoint
 * (a simulated upstream standing in for Groq, with its key in GROQ_API_KEY) called at its base URL with
 * its headers, fallback from it to a built-in provider, usage records under its name, and the route
 * table's checks.
 */
import defaultRoutes from '../../config/routes.json';
import { servesResponses } from '../../lambdas/adapters/providers/azure-openai';
import { openAiDialect } from '../../lambdas/adapters/providers/openai-compatible/simulated-dialect';
import { providerModule, providersOf } from '../../lambdas/adapters/providers/registry';
import { parseRouteTable } from '../../lambdas/core/ai/route-table';
import { SimulatedUpstream } from '../../lambdas/local/simulated-upstream';
import { loadConfig } from '../../lambdas/shared/config';
import { clearFaults, startTestGateway, usageRecordOf, type TestGateway } from '../helpers/local-gateway';

const GROQ_KEY = 'gsk-test-key-0123456789';

function routesWith(groq: Record<string, unknown>) {
  return {
    ...defaultRoutes,
    providers: { ...defaultRoutes.providers, groq },
    tasks: {
      ...defaultRoutes.tasks,
      message_generation: {
        ...defaultRoutes.tasks.message_generation,
        targets: [
          { provider: 'groq', model: 'llama-3.3-70b-versatile' },
          { provider: 'openai', model: 'gpt-4o-mini' },
        ],
      },
    },
  };
}

describe('OpenAI-compatible providers', () => {
  let groq: SimulatedUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    groq = new SimulatedUpstream({ provider: 'groq', dialect: openAiDialect, apiKey: GROQ_KEY, chunkDelayMs: 0 });
    const baseURL = await groq.listen();
    const routes = routesWith({
      type: 'openai-compatible',
      baseURL,
      headers: { 'x-title': 'huntaze' },
      models: ['llama-3.3-70b-versatile'],
    });
    gw = await startTestGateway({ env: { ROUTES_JSON: JSON.stringify(routes), GROQ_API_KEY: GROQ_KEY } });
  });
  afterAll(async () => {
    await gw.close();
    await groq.close();
  });
  afterEach(() => {
    clearFaults(gw);
    groq.setFault(undefined);
  });

  it('routes to the named endpoint with its key, base URL and headers; the official SDK reads the answer', async () => {
    expect(gw.providerModes['groq']).toBe('real');
    const { data, response } = await gw.client.chat.completions
      .create(
        { model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'Hello Groq' }] },
        { headers: { 'x-task-type': 'message_generation' } },
      )
      .withResponse();
    expect(response.headers.get('x-orchestrator-provider')).toBe('groq');
    expect(data.choices[0]!.message.content).toContain('simulated groq llama-3.3-70b-versatile');
    const sent = groq.requests.at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.authHeaders).toEqual(['authorization']);
    expect(sent.customHeaders['x-title']).toBe('huntaze');
    const record = await usageRecordOf(gw, response.headers.get('x-request-id'));
    // No price is listed for it: unpriced, never a silent 0.
    expect(record).toMatchObject({ provider: 'groq', model: 'llama-3.3-70b-versatile', costMicros: null, status: 200 });
  });

  it('falls back from the endpoint to a built-in provider', async () => {
    groq.setFault({ kind: 'status', status: 503 });
    const response = await gw.call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'x-task-type': 'message_generation' },
      body: JSON.stringify({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'fall back please' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-provider')).toBe('openai');
    expect(response.headers.get('x-orchestrator-fallback')).toBe('true');
    // The built-in provider does not serve the requested model: it answers with the task's own.
    expect(response.headers.get('x-orchestrator-model')).toBe('gpt-4o-mini');
  });

  it('lists its models', async () => {
    const model = await gw.client.models.retrieve('llama-3.3-70b-versatile');
    expect(model.owned_by).toBe('groq');
  });
});

describe('OpenAI-compatible entries in the route table', () => {
  const base = { type: 'openai-compatible', baseURL: 'https://api.groq.com/openai/v1', models: ['llama-3.3-70b-versatile'] };

  it.each([
    ['no baseURL', { type: 'openai-compatible', models: ['m'] }, /needs its baseURL/],
    [
      'a credential in headers',
      { ...base, headers: { Authorization: 'Bearer gsk-secret' } },
      /credentials go in the key variable or secret/,
    ],
    ['instance fields on a built-in entry', undefined, /apply to "type": "openai-compatible" entries only/],
    ['a key-like custom header', { ...base, headers: { 'x-goog-api-key': 'AIza-secret' } }, /credentials go in the key variable or secret/],
    [
      'a key in the baseURL query',
      { ...base, baseURL: 'https://generativelanguage.googleapis.com/v1beta/openai?key=AIza' },
      /no credentials or query in baseURL/,
    ],
    ['credentials in the baseURL', { ...base, baseURL: 'https://user:pass@api.groq.com/openai/v1' }, /no credentials or query in baseURL/],
  ])('refuses %s', (_, groq, message) => {
    const routes = groq
      ? routesWith(groq)
      : {
          ...defaultRoutes,
          providers: { ...defaultRoutes.providers, openai: { ...defaultRoutes.providers.openai, baseURL: 'https://x.test/v1' } },
        };
    expect(() => parseRouteTable(routes, 'test')).toThrow(message);
  });

  it.each([
    ['a built-in id', 'openai', /"openai" is reserved/],
    ['local (whose LOCAL_API_KEY is the gateway key)', 'local', /"local" is reserved/],
    ['an id whose stack output a built-in uses', 'open-ai', /providers openai and open-ai would both use OpenAiSecretArn/],
  ])('refuses an instance named with %s, at start and at synth (providersOf)', (_, id, message) => {
    const entry = id === 'openai' ? { ...base, models: defaultRoutes.providers.openai.models } : base;
    const table = parseRouteTable({ ...defaultRoutes, providers: { ...defaultRoutes.providers, [id]: entry } }, 'test');
    expect(() => providersOf(table)).toThrow(message);
  });

  it('configures a keyless endpoint from an empty secret too, and checks Azure api-versions by date', () => {
    const table = parseRouteTable(routesWith({ ...base, apiKeyRequired: false }), 'test');
    expect(providerModule('groq', providersOf(table))!.parseCredentials({ apiKey: '', placeholder: 'x' })).toEqual({ apiKey: 'none' });
    const keyed = parseRouteTable(routesWith(base), 'test');
    expect(providerModule('groq', providersOf(keyed))!.parseCredentials({ apiKey: '' })).toBeUndefined();
    expect(servesResponses('garbage')).toBe(false);
  });

  it('refuses an unknown provider without a type, saying how to add one', () => {
    const routes = routesWith({ models: ['llama-3.3-70b-versatile'] });
    expect(() => loadConfig('local', { ROUTES_JSON: JSON.stringify(routes) })).toThrow(/unknown provider groq .*openai-compatible/);
  });

  it('reads the key from <ID>_API_KEY, and configures an endpoint that takes no key without one', () => {
    const routes = routesWith(base);
    const withKey = loadConfig('local', { ROUTES_JSON: JSON.stringify(routes), GROQ_API_KEY: GROQ_KEY });
    expect(withKey.providers.environment['groq']).toEqual({ apiKey: GROQ_KEY });
    expect(loadConfig('local', { ROUTES_JSON: JSON.stringify(routes) }).providers.environment['groq']).toBeUndefined();
    const keyless = loadConfig('local', { ROUTES_JSON: JSON.stringify(routesWith({ ...base, apiKeyRequired: false })) });
    expect(keyless.providers.environment['groq']).toEqual({ apiKey: 'none' });
    expect(() => loadConfig('local', { ROUTES_JSON: JSON.stringify(routes), LEGACY_PROVIDER: 'mistral' })).toThrow(/LEGACY_PROVIDER/);
    expect(
      loadConfig('local', { ROUTES_JSON: JSON.stringify(routes), LEGACY_PROVIDER: 'groq', LEGACY_MODEL: 'llama-3.3-70b-versatile' }).legacy,
    ).toBeDefined();
  });
});
