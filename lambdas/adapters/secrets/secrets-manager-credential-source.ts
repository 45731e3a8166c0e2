/**
 * `CredentialSource` on AWS Secrets Manager: one JSON secret per provider, cached in memory with a
 * TTL so a cold start pays one call per provider and a rotated key is picked up within the TTL.
 */
import { GetSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../../core/ports';
import type { ProviderId } from '../../core/ai/route-table';
import type { CredentialSource, ProviderCredentials } from '../../core/ai/ports';
import { parseCredentials } from '../providers/credentials';
import type { RegisteredProvider } from '../providers/provider-module';

export interface SecretsManagerCredentialSourceOptions {
  /** Secret id or ARN per provider; providers without one are not configured. */
  secretIds: Partial<Record<ProviderId, string>>;
  ttlMs: number;
  /** Timeout of one Secrets Manager call. */
  timeoutMs: number;
  /** The providers whose credential shapes validate the secrets (default: the built-in ones). */
  providers?: readonly RegisteredProvider[];
}

export class SecretsManagerCredentialSource implements CredentialSource {
  private readonly cache = new Map<ProviderId, { value: Promise<ProviderCredentials | undefined>; expiresAt: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly clock: Clock,
    private readonly options: SecretsManagerCredentialSourceOptions,
  ) {}

  get(provider: ProviderId): Promise<ProviderCredentials | undefined> {
    const cached = this.cache.get(provider);
    if (cached && cached.expiresAt > this.clock.now()) return cached.value;
    const value = this.load(provider).catch((error: unknown) => {
      // Keep serving the last good credentials through a Secrets Manager outage.
      this.cache.delete(provider);
      if (cached) {
        this.cache.set(provider, { value: cached.value, expiresAt: this.clock.now() + Math.min(this.options.ttlMs, 30_000) });
        return cached.value;
      }
      throw error;
    });
    this.cache.set(provider, { value, expiresAt: this.clock.now() + this.options.ttlMs });
    return value;
  }

  private async load(provider: ProviderId): Promise<ProviderCredentials | undefined> {
    const secretId = this.options.secretIds[provider];
    if (!secretId) return undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }), {
        abortSignal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (!out.SecretString) return undefined;
      return parseCredentials(provider, JSON.parse(out.SecretString), this.options.providers);
    } catch (error) {
      if (error instanceof ResourceNotFoundException || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }
}
