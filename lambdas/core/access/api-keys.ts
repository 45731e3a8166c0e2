/**
 * API keys: issued once, stored only as a SHA-256 hash, looked up through a short in-memory cache
 * so a revoked key stops working within the cache TTL.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import type { Clock, Random } from '../ports';
import { PLANS, ROLES, type ApiKeyRecord, type ApiKeyStore, type Principal } from './ports';
import { TtlCache } from '../ttl-cache';

/** A user id: letters, digits and `_ . @ : -`, at most 128 (so it is safe in keys, paths and logs). */
export const UserIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.@:-]+$/, 'letters, digits and _ . @ : - only');

export const CreateApiKeySchema = z.strictObject({
  userId: UserIdSchema,
  plan: z.enum(PLANS).default('free'),
  role: z.enum(ROLES).default('user'),
  /** Days until the key stops working; omit for a key without expiry. */
  expiresInDays: z.number().int().min(1).max(3650).optional(),
  /**
   * Keys that name the same scope share response-cache entries (a team whose members may read each
   * other's answers); without one, a user's entries are theirs alone.
   */
  cacheScope: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[\w.:-]+$/, 'letters, digits and _ . : - only')
    .optional(),
});
export type CreateApiKeyInput = z.infer<typeof CreateApiKeySchema>;

const KEY_PREFIX = 'sk-ho-';
const IDENTITY_TTL_MS = 3_600_000;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A stable key id derived from the hash, so re-seeding a known key is idempotent. */
export function keyIdFromHash(keyHash: string): string {
  return `key_${keyHash.slice(0, 20)}`;
}

/** The shape of every id `keyIdFromHash` makes: anything else names no key. */
export const KEY_ID = /^key_[0-9a-f]{20}$/;

function toPrincipal(record: ApiKeyRecord): Principal {
  return {
    keyId: record.id,
    userId: record.userId,
    plan: record.plan,
    role: record.role,
    ...(record.cacheScope ? { cacheScope: record.cacheScope } : {}),
  };
}

/** Issues, authenticates, lists and revokes API keys. */
export class ApiKeyService {
  private readonly cache: TtlCache<Principal | null>;
  /** Who each recently valid key belongs to. A key's user and plan never change; only its status can. */
  private readonly identities: TtlCache<Principal>;

  constructor(
    private readonly store: ApiKeyStore,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly options: { cacheTtlMs: number; negativeCacheTtlMs: number; maxCacheEntries: number },
  ) {
    this.cache = new TtlCache(() => clock.now(), options.maxCacheEntries);
    this.identities = new TtlCache(() => clock.now(), options.maxCacheEntries);
  }

  /** The cached answer for a key: a principal, `null` (known invalid), or `undefined` (must look it up). */
  cached(key: string): Principal | null | undefined {
    return this.cache.get(hashKey(key));
  }

  /**
   * Whom a key belonged to when last seen valid, even after the cache entry expired. Lets the
   * gateway start user-scoped checks (rate limits) while `authenticate` re-checks the key's status.
   */
  lastKnown(key: string): Principal | undefined {
    return this.identities.get(hashKey(key));
  }

  /** The principal for a presented key, or `null` when it is unknown or revoked. */
  async authenticate(key: string): Promise<Principal | null> {
    const keyHash = hashKey(key);
    const cached = this.cache.get(keyHash);
    if (cached !== undefined) return cached;
    const now = this.clock.now();
    const record = await this.store.findByHash(keyHash);
    const valid =
      record !== undefined &&
      record.status === 'active' &&
      (record.expiresAt === undefined || record.expiresAt * 1000 > now) &&
      sameHash(record.keyHash, keyHash);
    if (!valid) {
      this.identities.delete(keyHash);
      this.cache.set(keyHash, null, this.options.negativeCacheTtlMs);
      return null;
    }
    const principal = toPrincipal(record);
    const untilExpiry = record.expiresAt === undefined ? Number.POSITIVE_INFINITY : record.expiresAt * 1000 - now;
    this.cache.set(keyHash, principal, Math.min(this.options.cacheTtlMs, untilExpiry));
    this.identities.set(keyHash, principal, Math.min(IDENTITY_TTL_MS, untilExpiry));
    return principal;
  }

  /** Creates a key; the plaintext is returned only here. */
  async create(input: CreateApiKeyInput): Promise<{ record: ApiKeyRecord; key: string }> {
    const key = `${KEY_PREFIX}${Buffer.from(this.random.bytes(24)).toString('base64url')}`;
    const record = await this.register(key, input);
    return { record, key };
  }

  /** Stores a key whose plaintext is already known (local seeding, migrations of existing keys). */
  async register(key: string, input: CreateApiKeyInput): Promise<ApiKeyRecord> {
    const keyHash = hashKey(key);
    const record: ApiKeyRecord = {
      id: keyIdFromHash(keyHash),
      keyHash,
      keyPrefix: key.slice(0, KEY_PREFIX.length + 4),
      userId: input.userId,
      plan: input.plan,
      role: input.role,
      status: 'active',
      createdAt: new Date(this.clock.now()).toISOString(),
      ...(input.expiresInDays ? { expiresAt: Math.floor(this.clock.now() / 1000) + input.expiresInDays * 86_400 } : {}),
      ...(input.cacheScope ? { cacheScope: input.cacheScope } : {}),
    };
    await this.store.put(record);
    this.cache.delete(keyHash);
    this.identities.delete(keyHash);
    return record;
  }

  list(userId: string): Promise<ApiKeyRecord[]> {
    return this.store.listByUser(userId);
  }

  /** Revokes a key by id; other instances stop accepting it within the cache TTL. */
  async revoke(id: string): Promise<boolean> {
    const record = await this.store.findById(id);
    if (!record) return false;
    const revoked = await this.store.revoke(record.keyHash, new Date(this.clock.now()).toISOString());
    this.cache.delete(record.keyHash);
    this.identities.delete(record.keyHash);
    return revoked;
  }
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The public view of a key record: never the hash, never the secret. */
export function describeKey(record: ApiKeyRecord) {
  return {
    id: record.id,
    userId: record.userId,
    plan: record.plan,
    role: record.role,
    status: record.status,
    keyPrefix: record.keyPrefix,
    createdAt: record.createdAt,
    ...(record.revokedAt ? { revokedAt: record.revokedAt } : {}),
    ...(record.expiresAt !== undefined ? { expiresAt: new Date(record.expiresAt * 1000).toISOString() } : {}),
    ...(record.cacheScope ? { cacheScope: record.cacheScope } : {}),
  };
}
