import { ApiKeyService, describeKey, hashKey } from '../../../../lambdas/core/access/api-keys';
import { FakeClock, InMemoryApiKeyStore, ScriptedRandom } from '../../../helpers/fakes';

function setup() {
  const store = new InMemoryApiKeyStore();
  const clock = new FakeClock();
  const service = new ApiKeyService(store, clock, new ScriptedRandom(), {
    cacheTtlMs: 30_000,
    negativeCacheTtlMs: 5_000,
    maxCacheEntries: 100,
  });
  return { store, clock, service };
}

describe('ApiKeyService', () => {
  it('stores only the SHA-256 hash of a new key and returns the key once', async () => {
    const { store, service } = setup();
    const { record, key } = await service.create({ userId: 'u_1', plan: 'pro', role: 'user' });
    expect(key).toMatch(/^sk-ho-[\w-]{32}$/);
    const stored = store.items.get(hashKey(key));
    expect(stored).toMatchObject({ id: record.id, userId: 'u_1', plan: 'pro', role: 'user', status: 'active' });
    expect(JSON.stringify([...store.items.values()])).not.toContain(key);
    expect(JSON.stringify(describeKey(record))).not.toContain(record.keyHash);
  });

  it('authenticates from the cache without a store read until the TTL expires', async () => {
    const { store, clock, service } = setup();
    const { key } = await service.create({ userId: 'u_1', plan: 'free', role: 'user' });
    expect(await service.authenticate(key)).toMatchObject({ userId: 'u_1' });
    expect(await service.authenticate(key)).toMatchObject({ userId: 'u_1' });
    expect(store.reads).toBe(1);
    clock.advance(30_000);
    await service.authenticate(key);
    expect(store.reads).toBe(2);
  });

  it('rejects a key revoked elsewhere once the cache TTL has passed', async () => {
    const { store, clock, service } = setup();
    const { key } = await service.create({ userId: 'u_1', plan: 'free', role: 'user' });
    await service.authenticate(key);
    await store.revoke(hashKey(key), new Date().toISOString()); // another instance revoked it
    expect(await service.authenticate(key)).not.toBeNull();
    clock.advance(30_001);
    expect(await service.authenticate(key)).toBeNull();
  });

  it('rejects a key revoked through this instance at once', async () => {
    const { service } = setup();
    const { record, key } = await service.create({ userId: 'u_1', plan: 'free', role: 'user' });
    await service.authenticate(key);
    expect(await service.revoke(record.id)).toBe(true);
    expect(await service.authenticate(key)).toBeNull();
    expect(await service.revoke('key_unknown')).toBe(false);
  });

  it('caches unknown keys briefly so floods of bad keys do not reach the store', async () => {
    const { store, clock, service } = setup();
    await service.authenticate('sk-bogus');
    await service.authenticate('sk-bogus');
    expect(store.reads).toBe(1);
    clock.advance(5_000);
    await service.authenticate('sk-bogus');
    expect(store.reads).toBe(2);
  });

  it('stops accepting a key at its expiry, even while it is cached', async () => {
    const { clock, service } = setup();
    const { record, key } = await service.create({ userId: 'u_1', plan: 'free', role: 'user', expiresInDays: 1 });
    expect(record.expiresAt).toBe(Math.floor(clock.now() / 1000) + 86_400);
    expect(describeKey(record).expiresAt).toBe(new Date(record.expiresAt! * 1000).toISOString());
    clock.advance(86_400_000 - 10_000);
    expect(await service.authenticate(key)).not.toBeNull(); // cached for the 10 s left, not 30 s
    clock.advance(10_000);
    expect(await service.authenticate(key)).toBeNull();
  });
});
