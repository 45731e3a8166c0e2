/**
 * DynamoDB table definitions as plain data: the CDK stack and the local runner (dynalite) both
 * create their tables from here, so the two never drift apart.
 */
export interface TableDefinition {
  /** Logical name, used for the CDK construct id and the default physical name. */
  logicalName: string;
  partitionKey: string;
  sortKey?: string;
  timeToLiveAttribute?: string;
  indexes: Array<{ name: string; partitionKey: string; sortKey?: string }>;
  /** A stream of new items (AWS only: the local engine has none), for consumers off the request path. */
  stream?: 'new-image';
}

export const API_KEYS_TABLE: TableDefinition = {
  logicalName: 'api-keys',
  partitionKey: 'keyHash',
  // Optional key expiry (epoch seconds); readers also check it, since DynamoDB deletes expired items late.
  timeToLiveAttribute: 'expiresAt',
  indexes: [
    { name: 'byId', partitionKey: 'id' },
    { name: 'byUser', partitionKey: 'userId', sortKey: 'createdAt' },
  ],
};

/**
 * Rate-limit and quota counters (`rl#<policy>#<userId>`, one small item each) and message
 * idempotency records (`idem#...`). Items expire with their longest window.
 */
export const RATE_LIMITS_TABLE: TableDefinition = {
  logicalName: 'rate-limits',
  partitionKey: 'pk',
  timeToLiveAttribute: 'expiresAt',
  indexes: [],
};

/**
 * One usage record per AI request (`requestId`), kept `USAGE_RETENTION_DAYS`; indexed by UTC day for
 * the daily report, spread over `USAGE_DAY_SHARDS` partitions (`dayShard` = `<day>#<n>`; see the usage store).
 */
export const USAGE_TABLE: TableDefinition = {
  logicalName: 'usage',
  partitionKey: 'requestId',
  timeToLiveAttribute: 'expiresAt',
  indexes: [{ name: 'byDayShard', partitionKey: 'dayShard', sortKey: 'createdAt' }],
  // The aggregation Lambda consumes new records from it.
  stream: 'new-image',
};

/**
 * Usage aggregates for fast reads (`d#<day>` / `m#<month>` partitions, one item per cell, updated
 * with single-item ADDs), once-only alert markers (`alert` partition) and stored daily reports.
 */
export const USAGE_AGGREGATES_TABLE: TableDefinition = {
  logicalName: 'usage-aggregates',
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'expiresAt',
  indexes: [],
};

/**
 * Provider health shared by every instance: one `states` item (every target's circuit breaker, written
 * with conditional updates) and one `stats#<target>` item per target (outcome counters in 5 s slots).
 */
export const PROVIDER_HEALTH_TABLE: TableDefinition = {
  logicalName: 'provider-health',
  partitionKey: 'pk',
  indexes: [],
};

/** Response cache entries: one item per answer (`scope` = whose, `key` = the normalised request's hash), gzip, TTL. */
export const RESPONSE_CACHE_TABLE: TableDefinition = {
  logicalName: 'response-cache',
  partitionKey: 'scope',
  sortKey: 'key',
  timeToLiveAttribute: 'expiresAt',
  indexes: [],
};

/** Every table the gateway uses. */
export const TABLES = [
  API_KEYS_TABLE,
  RATE_LIMITS_TABLE,
  USAGE_TABLE,
  USAGE_AGGREGATES_TABLE,
  PROVIDER_HEALTH_TABLE,
  RESPONSE_CACHE_TABLE,
] as const;
