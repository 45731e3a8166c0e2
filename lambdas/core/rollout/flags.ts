/**
 * Feature flags in AppConfig's feature-flag format, their validation, and the rollout decision.
 *
 * A flag document is either the full `AWS.AppConfig.FeatureFlags` profile content (`version`,
 * `flags` definitions, `values`) as kept in the repository and the local flags file, or the values
 * map AppConfig returns to `GetLatestConfiguration` for such a profile. Both are validated and
 * reduced to `FlagValues`; anything invalid is rejected whole.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { formatIssues, GatewayError } from '../errors';
import { TtlCache } from '../ttl-cache';

export const ROLLOUT_FLAG = 'hybrid_orchestrator';

const UserList = z.array(z.string().min(1).max(128)).max(10_000);

const RolloutValueSchema = z.object({
  enabled: z.boolean(),
  rollout_percentage: z.number().min(0).max(100).default(0),
  allow_users: UserList.default([]),
  deny_users: UserList.default([]),
});

/** A simple on/off capability flag. */
const SwitchValueSchema = z.object({ enabled: z.boolean() }).loose();

/**
 * A capability turned on per user or percentage (`response_caching`): enabled, then deny_users,
 * allow_users, and the percentage of the rest (100 when left out).
 */
const CapabilityValueSchema = z.object({
  enabled: z.boolean(),
  rollout_percentage: z.number().min(0).max(100).optional(),
  allow_users: UserList.optional(),
  deny_users: UserList.optional(),
});

export const FlagValuesSchema = z
  .object({
    [ROLLOUT_FLAG]: RolloutValueSchema,
    response_caching: CapabilityValueSchema.optional(),
  })
  .catchall(SwitchValueSchema);
export type FlagValues = z.infer<typeof FlagValuesSchema>;
export type RolloutValue = z.infer<typeof RolloutValueSchema>;

const FlagDefinitionSchema = z.object({
  name: z.string().min(1).max(64),
  description: z.string().max(1024).optional(),
  attributes: z.record(z.string(), z.object({ constraints: z.record(z.string(), z.unknown()).optional() }).loose()).optional(),
  _deprecation: z.object({ status: z.enum(['planned']) }).optional(),
});

const FullDocumentSchema = z.object({
  version: z.literal('1'),
  flags: z.record(z.string().regex(/^[a-zA-Z][\w-]{0,63}$/), FlagDefinitionSchema),
  values: z.record(z.string(), z.record(z.string(), z.unknown())),
});

export class InvalidFlagsError extends GatewayError {}

/** Validates a flag document (full profile content or AppConfig's values map) into `FlagValues`. */
export function parseFlagDocument(input: unknown): FlagValues {
  let values: unknown = input;
  if (typeof input === 'object' && input !== null && 'flags' in input && 'values' in input) {
    const full = FullDocumentSchema.safeParse(input);
    if (!full.success) throw new InvalidFlagsError(`invalid flag document: ${formatIssues(full.error)}`);
    const undefinedFlags = Object.keys(full.data.values).filter((name) => !(name in full.data.flags));
    if (undefinedFlags.length > 0)
      throw new InvalidFlagsError(`invalid flag document: values for undefined flags ${undefinedFlags.join(', ')}`);
    values = full.data.values;
  }
  const parsed = FlagValuesSchema.safeParse(values);
  if (!parsed.success) throw new InvalidFlagsError(`invalid flag values: ${formatIssues(parsed.error)}`);
  // A user listed in both deny_users and allow_users is allowed in the document: deny wins.
  return parsed.data;
}

/**
 * Buckets already hashed: a request asks for its user's bucket of the rollout flag and of each
 * capability it uses (two to four SHA-256 digests a request otherwise). A bucket never changes, so
 * entries never expire; the cache's bound keeps its memory in check.
 */
const buckets = new TtlCache<number>(() => 0, 10_000);

/**
 * A user's bucket for a flag, in [0, 100): a stable hash of (flag, user), so raising the percentage
 * only ever adds users (10% -> 20% keeps the first 10% in).
 */
export function rolloutBucket(flag: string, userId: string): number {
  const key = `${flag}\u0000${userId}`;
  let bucket = buckets.get(key);
  if (bucket === undefined) {
    bucket = (createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32) * 100;
    buckets.set(key, bucket, Number.POSITIVE_INFINITY);
  }
  return bucket;
}

export type ProcessingPath = 'orchestrated' | 'legacy';

export interface RolloutDecision {
  path: ProcessingPath;
  reason: 'disabled' | 'denied' | 'allowed' | 'in_percentage' | 'outside_percentage';
}

/** Disabled -> legacy; else deny_users, then allow_users, then the percentage. */
export function decideRollout(values: FlagValues, userId: string): RolloutDecision {
  const flag = values[ROLLOUT_FLAG];
  if (!flag.enabled) return { path: 'legacy', reason: 'disabled' };
  if (flag.deny_users.includes(userId)) return { path: 'legacy', reason: 'denied' };
  if (flag.allow_users.includes(userId)) return { path: 'orchestrated', reason: 'allowed' };
  return rolloutBucket(ROLLOUT_FLAG, userId) < flag.rollout_percentage
    ? { path: 'orchestrated', reason: 'in_percentage' }
    : { path: 'legacy', reason: 'outside_percentage' };
}

/** The safe default when no flags were ever loaded: everyone on the legacy path. */
export const SAFE_DEFAULT_FLAGS: FlagValues = {
  [ROLLOUT_FLAG]: { enabled: false, rollout_percentage: 0, allow_users: [], deny_users: [] },
};

/** Builds the full AppConfig feature-flag document for given values (the repository's and the stack's documents). */
export function flagDocument(rollout: RolloutValue, extra: Record<string, { enabled: boolean }> = {}): Record<string, unknown> {
  return {
    version: '1',
    flags: {
      [ROLLOUT_FLAG]: {
        name: 'Hybrid orchestrator rollout',
        description: 'Route users through the orchestrator (routing and fallback) instead of the legacy single-provider path.',
        attributes: {
          rollout_percentage: { constraints: { type: 'number', minimum: 0, maximum: 100 } },
          allow_users: { constraints: { type: 'array', elements: { type: 'string' } } },
          deny_users: { constraints: { type: 'array', elements: { type: 'string' } } },
        },
      },
      // Capability flags take the same per-user and percentage attributes (AppConfig checks values against them).
      ...Object.fromEntries(
        Object.keys(extra).map((name) => [
          name,
          {
            name,
            attributes: {
              rollout_percentage: { constraints: { type: 'number', minimum: 0, maximum: 100 } },
              allow_users: { constraints: { type: 'array', elements: { type: 'string' } } },
              deny_users: { constraints: { type: 'array', elements: { type: 'string' } } },
            },
          },
        ]),
      ),
    },
    values: { [ROLLOUT_FLAG]: rollout, ...extra },
  };
}
