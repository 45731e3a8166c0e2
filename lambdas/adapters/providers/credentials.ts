/** Provider credentials from fixed values (the environment, or the simulated upstreams), validated by each provider's module. */
import type { CredentialSource, ProviderCredentials } from '../../core/ai/ports';
import type { ProviderId } from '../../core/ai/route-table';
import type { RegisteredProvider } from './provider-module';
import { BUILT_IN_PROVIDERS, providerModule } from './registry';

/**
 * Validates raw credential data for `provider`; `undefined` when it is absent, incomplete (an empty
 * placeholder secret) or the provider is unknown.
 */
export function parseCredentials(
  provider: ProviderId,
  data: unknown,
  providers: readonly RegisteredProvider[] = BUILT_IN_PROVIDERS,
): ProviderCredentials | undefined {
  const credentials = providerModule(provider, providers)?.parseCredentials(data);
  return credentials ? { provider, credentials } : undefined;
}

export class StaticCredentialSource implements CredentialSource {
  constructor(
    private readonly values: Partial<Record<ProviderId, unknown>>,
    private readonly providers: readonly RegisteredProvider[] = BUILT_IN_PROVIDERS,
  ) {}

  async get(provider: ProviderId): Promise<ProviderCredentials | undefined> {
    return parseCredentials(provider, this.values[provider], this.providers);
  }
}
