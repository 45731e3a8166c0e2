/** API key administration on dynalite, and the health endpoints. */
import { StaticCredentialSource } from '../../lambdas/adapters/providers/credentials';
import { startDynalite } from '../../lambdas/local/dynamodb-local';
import { ADMIN_KEY, chatBody, startTestGateway, type TestGateway } from '../helpers/local-gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.close());

const admin = (path: string, init: RequestInit = {}) => gw.call(path, { ...init, key: ADMIN_KEY });

describe('admin API keys', () => {
  it('creates a key shown once, lists it without the secret, and revokes it', async () => {
    const created = await admin('/admin/api-keys', {
      method: 'POST',
      body: JSON.stringify({ userId: 'u_creator_1', plan: 'pro', role: 'user' }),
    });
    expect(created.status).toBe(201);
    const body = await created.json();
    const { id, key } = body;
    expect(body).toEqual({ id: expect.stringMatching(/^key_/), key: expect.any(String), userId: 'u_creator_1', plan: 'pro', role: 'user' });
    expect(key).toMatch(/^sk-ho-/);

    const answer = await gw.call('/v1/chat/completions', { method: 'POST', key, body: JSON.stringify(chatBody()) });
    expect(answer.status).toBe(200);

    const listed = await (await admin('/admin/api-keys?userId=u_creator_1')).json();
    expect(listed.data).toEqual([expect.objectContaining({ id, userId: 'u_creator_1', plan: 'pro', status: 'active' })]);
    expect(JSON.stringify(listed)).not.toContain(key);
    expect(JSON.stringify(listed)).not.toMatch(/[0-9a-f]{64}/);

    const revoked = await admin(`/admin/api-keys/${id}`, { method: 'DELETE' });
    expect(await revoked.json()).toEqual({ id, object: 'api_key', deleted: true, status: 'revoked' });
    const after = await gw.call('/v1/chat/completions', { method: 'POST', key, body: JSON.stringify(chatBody()) });
    expect(after.status).toBe(401);
    const relisted = await (await admin('/admin/api-keys?userId=u_creator_1')).json();
    expect(relisted.data[0].status).toBe('revoked');
  });

  it('issues keys that expire', async () => {
    const created = await (
      await admin('/admin/api-keys', { method: 'POST', body: JSON.stringify({ userId: 'u_temp', expiresInDays: 7 }) })
    ).json();
    expect(Date.parse(created.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expect(created).toMatchObject({ plan: 'free', role: 'user' });
  });

  it('validates what it is given', async () => {
    const bad = await admin('/admin/api-keys', { method: 'POST', body: JSON.stringify({ userId: '', plan: 'gold' }) });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toBe('userId');
    expect((await admin('/admin/api-keys')).status).toBe(400);
    expect((await admin('/admin/api-keys/key_nope', { method: 'DELETE' })).status).toBe(404);
    // An id no key can have is not looked up: longer than DynamoDB allows a key, it would be refused there.
    const long = await admin(`/admin/api-keys/key_${'a'.repeat(3000)}`, { method: 'DELETE' });
    expect(long.status).toBe(404);
    expect((await long.json()).error.message).toBe('No API key with id key_aaaaaaaaaaaaaaaaaaaa….');
  });

  it('lets a created admin key use admin routes', async () => {
    const { key } = await (
      await admin('/admin/api-keys', { method: 'POST', body: JSON.stringify({ userId: 'ops', role: 'admin' }) })
    ).json();
    const listed = await gw.call('/admin/api-keys?userId=ops', { key });
    expect(listed.status).toBe(200);
  });
});

describe('health', () => {
  it('answers liveness without dependencies and readiness with its checks', async () => {
    expect(await (await gw.call('/health', { key: null })).json()).toEqual({ status: 'ok' });
    const ready = await gw.call('/health/ready', { key: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { dynamodb: { ok: true }, config: { ok: true }, providers: { ok: true } },
    });
  });

  it('is not ready, naming the check, when no provider is configured', async () => {
    const bare = await startTestGateway({ overrides: { credentials: new StaticCredentialSource({}) } });
    try {
      const ready = await bare.call('/health/ready', { key: null });
      expect(ready.status).toBe(503);
      const body = await ready.json();
      expect(body.failing).toEqual(['providers']);
      expect(body.error.message).toContain('providers');
      const chat = await bare.call('/v1/chat/completions', { method: 'POST', body: JSON.stringify(chatBody()) });
      expect(chat.status).toBe(503);
      expect((await chat.json()).error.code).toBe('no_provider_configured');
    } finally {
      await bare.close();
    }
  });

  it('is not ready, naming dynamodb, when DynamoDB goes away, and refuses unknown keys with 503', async () => {
    const dynamo = await startDynalite();
    const gw2 = await startTestGateway({ env: { DYNAMODB_ENDPOINT: dynamo.endpoint, DYNAMODB_TIMEOUT_MS: '500' } });
    try {
      expect((await gw2.call('/health/ready', { key: null })).status).toBe(200);
      expect((await gw2.call('/admin/api-keys?userId=x', { key: ADMIN_KEY })).status).toBe(200); // caches the admin key
      await dynamo.close();
      const ready = await gw2.call('/health/ready', { key: null });
      expect(ready.status).toBe(503);
      expect((await ready.json()).failing).toEqual(['dynamodb']);
      const chat = await gw2.call('/v1/chat/completions', {
        method: 'POST',
        key: 'sk-never-seen-before',
        body: JSON.stringify(chatBody()),
      });
      expect(chat.status).toBe(503);
      expect(chat.headers.get('retry-after')).toBe('1');
      expect((await chat.json()).error.code).toBe('auth_unavailable');
      const listing = await gw2.call('/admin/api-keys?userId=x', { key: ADMIN_KEY });
      expect(listing.status).toBe(503);
      expect(listing.headers.get('x-request-id')).toMatch(/^req_/);
      expect(listing.headers.get('retry-after')).toBe('1');
      expect((await listing.json()).error).toMatchObject({ code: 'dependency_unavailable', type: 'service_unavailable' });
    } finally {
      await gw2.close();
    }
  });
});
