/** Access control's types and its port: API key records, the caller they identify, and where they are stored. */

export const PLANS = ['free', 'pro', 'enterprise'] as const;
export const ROLES = ['user', 'admin'] as const;
export type Plan = (typeof PLANS)[number];
export type Role = (typeof ROLES)[number];

export interface ApiKeyRecord {
  id: string;
  keyHash: string;
  /** First characters of the key, to recognise it in listings. */
  keyPrefix: string;
  userId: string;
  plan: Plan;
  role: Role;
  status: 'active' | 'revoked';
  createdAt: string;
  revokedAt?: string;
  /** Expiry in epoch seconds (also the table's TTL attribute); absent for keys that do not expire. */
  expiresAt?: number;
  /** A response-cache scope shared by every key that names it (absent: the key's user's own scope). */
  cacheScope?: string;
}

/** The caller behind a valid key. */
export interface Principal {
  keyId: string;
  userId: string;
  plan: Plan;
  role: Role;
  /** Set when an admin gave the key a shared response-cache scope. */
  cacheScope?: string;
}

/** Persistence of API keys (hashed). */
export interface ApiKeyStore {
  findByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  findById(id: string): Promise<ApiKeyRecord | undefined>;
  put(record: ApiKeyRecord): Promise<void>;
  listByUser(userId: string): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked; resolves `false` if no such key exists. */
  revoke(keyHash: string, revokedAt: string): Promise<boolean>;
  /** Cheap round trip used by the readiness check. */
  ping(): Promise<void>;
}
