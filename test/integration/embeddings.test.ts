/**
 * `POST /v1/embeddings` on the real app, dynalite and the simulated upstreams, with the official
 * openai SDK as client: both encodings, batches and `dimensions`, fallback to another provider of the
 * same model (never to another model), edge validation, and the usage record with its cost.
 */
import { conformance } from '../helpers/openai-schemas';
import { clearFaults, startTestGateway, usageRecordOf, type TestGateway } from '../helpers/local-gateway';

const norm = (vector: ArrayLike<number>) => Math.sqrt(Array.from(vector).reduce((sum, x) => sum + x * x, 0));

describe('/v1/embeddings', () => {
  let gw: TestGateway;
  const post = (body: unknown, key?: string | null) =>
    gw.call('/v1/embeddings', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...(key !== undefined ? { key } : {}),
    });
  const recordOf = (requestId: string | null) => usageRecordOf(gw, requestId);

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.close());
  afterEach(() => clearFaults(gw));

  it('serves the official SDK, which asks for base64 and decodes it: unit vectors of the model size, the same text the same vector', async () => {
    const first = await gw.client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello embeddings' });
    const again = await gw.client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello embeddings' });
    expect(first.object).toBe('list');
    expect(first.model).toBe('text-embedding-3-small');
    expect(first.data).toHaveLength(1);
    expect(first.data[0]!.embedding).toHaveLength(1536);
    expect(norm(first.data[0]!.embedding)).toBeCloseTo(1, 4);
    expect(Array.from(again.data[0]!.embedding)).toEqual(Array.from(first.data[0]!.embedding));
    expect(first.usage.prompt_tokens).toBeGreaterThan(0);
    const sent = gw.sims.openai!.requests.at(-1)!;
    expect(sent.path).toBe('/v1/embeddings');
    expect(sent.body).toEqual({ model: 'text-embedding-3-small', input: 'hello embeddings', encoding_format: 'base64' });
  });

  it('answers floats by default to a client that names no encoding (the upstream is asked for floats explicitly), batches in order, honours dimensions', async () => {
    const response = await post({ model: 'text-embedding-3-small', input: ['one', 'two', 'three'], dimensions: 256 });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-provider')).toBe('openai');
    const body = (await response.json()) as { data: Array<{ index: number; embedding: number[] }>; usage: Record<string, number> };
    expect(body.data.map((d) => d.index)).toEqual([0, 1, 2]);
    for (const item of body.data) {
      expect(Array.isArray(item.embedding)).toBe(true);
      expect(item.embedding).toHaveLength(256);
    }
    expect(body.data[0]!.embedding).not.toEqual(body.data[1]!.embedding);
    expect(gw.sims.openai!.requests.at(-1)!.body).toMatchObject({ encoding_format: 'float', dimensions: 256 });
    // Token ids are inputs too.
    const ids = await post({
      model: 'text-embedding-3-small',
      input: [
        [1, 2, 3],
        [4, 5],
      ],
    });
    expect(ids.status).toBe(200);
    expect(((await ids.json()) as { data: unknown[] }).data).toHaveLength(2);
  });

  it('falls back to another provider of the same model, and records the request with its tokens and cost', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 503 });
    const response = await post({ model: 'text-embedding-3-small', input: 'fallback please' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-orchestrator-provider')).toBe('azure-openai');
    expect(response.headers.get('x-orchestrator-fallback')).toBe('true');
    expect(gw.sims['azure-openai']!.requests.at(-1)!.path).toMatch(
      /^\/openai\/deployments\/text-embedding-3-small\/embeddings\?api-version=/,
    );
    const body = (await response.json()) as { usage: { prompt_tokens: number } };
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record).toMatchObject({
      route: '/v1/embeddings',
      provider: 'azure-openai',
      model: 'text-embedding-3-small',
      inputTokens: body.usage.prompt_tokens,
      outputTokens: 0,
      tokensSource: 'provider',
      fallback: true,
      status: 200,
    });
    // $0.02 per million input tokens, in micro-dollars.
    expect(record.costMicros).toBe(Math.round(body.usage.prompt_tokens * 0.02));
  });

  it('never falls back to another model: a model only one provider serves fails with that provider, in OpenAI shape', async () => {
    gw.sims.openai!.setFault({ kind: 'status', status: 503 });
    const azureCalls = gw.sims['azure-openai']!.calls;
    const response = await post({ model: 'text-embedding-ada-002', input: 'only openai has it' });
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(conformance('ErrorResponse', await response.json())).toEqual([]);
    expect(gw.sims['azure-openai']!.calls).toBe(azureCalls);
    const record = await recordOf(response.headers.get('x-request-id'));
    expect(record).toMatchObject({ route: '/v1/embeddings', status: response.status, costMicros: 0 });
    expect(record.errorClass).not.toBeNull();
  });

  it.each([
    ['an unknown model', { model: 'text-embedding-9', input: 'x' }, 404, 'model_not_found'],
    ['a chat model', { model: 'gpt-4o-mini', input: 'x' }, 404, 'model_not_found'],
    ['no input', { model: 'text-embedding-3-small' }, 400, undefined],
    ['an empty string', { model: 'text-embedding-3-small', input: '' }, 400, undefined],
    ['an empty batch', { model: 'text-embedding-3-small', input: [] }, 400, undefined],
    ['objects as input', { model: 'text-embedding-3-small', input: [{ text: 'x' }] }, 400, undefined],
    ['an unknown encoding', { model: 'text-embedding-3-small', input: 'x', encoding_format: 'int8' }, 400, undefined],
    ['an unknown field', { model: 'text-embedding-3-small', input: 'x', temperature: 1 }, 400, undefined],
    ['too many inputs', { model: 'text-embedding-3-small', input: Array.from({ length: 2049 }, () => 'x') }, 400, undefined],
  ])('refuses %s in OpenAI shape, without calling a provider', async (_, body, status, code) => {
    const calls = gw.sims.openai!.calls + gw.sims['azure-openai']!.calls;
    const response = await post(body);
    expect(response.status).toBe(status);
    const json = (await response.json()) as { error: { code: string | null; message: string } };
    expect(conformance('ErrorResponse', json)).toEqual([]);
    if (code) expect(json.error.code).toBe(code);
    expect(gw.sims.openai!.calls + gw.sims['azure-openai']!.calls).toBe(calls);
  });

  it('needs a key, and lists the embedding models in /v1/models', async () => {
    expect((await post({ model: 'text-embedding-3-small', input: 'x' }, null)).status).toBe(401);
    const models = await gw.client.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002']));
    expect(models.data.find((m) => m.id === 'text-embedding-3-small')!.owned_by).toBe('openai,azure-openai');
  });
});
