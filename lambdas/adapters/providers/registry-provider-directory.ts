/**
 * `ProviderDirectory` over the provider registry: builds each provider's client from its current
 * credentials, and rebuilds it only when they change (for example after a secret rotation).
 */
import type { ChatProvider, CredentialSource, ProviderDirectory } from '../../core/ai/ports';
import type { ProviderId } from '../../core/ai/route-table';
import type { RegisteredProvider } from './provider-module';
import { BUILT_IN_PROVIDERS, providerModule } from './registry';

export class RegistryProviderDirectory implements ProviderDirectory {
  private readonly built = new Map<ProviderId, { fingerprint: string; provider: ChatProvider }>();

  constructor(
    private readonly credentials: CredentialSource,
    private readonly providers: readonly RegisteredProvider[] = BUILT_IN_PROVIDERS,
  ) {}

  async get(id: ProviderId): Promise<ChatProvider | undefined> {
    const module = providerModule(id, this.providers);
    const entry = module ? await this.credentials.get(id) : undefined;
    if (!module || !entry) return undefined;
    const fingerprint = JSON.stringify(entry.credentials);
    const cached = this.built.get(id);
    if (cached?.fingerprint === fingerprint) return cached.provider;
    const provider = module.create(entry.credentials);
    this.built.set(id, { fingerprint, provider });
    return provider;
  }

  async configured(): Promise<ProviderId[]> {
    const present = await Promise.all(this.providers.map(async ({ id }) => ((await this.credentials.get(id)) ? id : undefined)));
    return present.filter((id): id is ProviderId => id !== undefined);
  }
}
