/**
 * `ProviderDirectory` over the provider registry: builds each provider's client from its current
 * credentials, and rebuilds it only when they change (for example after a secret rotation).
 */
import type { ChatProvider, CredentialSource, ProviderDirectory } from '../../core/ai/ports';
import type { ProviderId } from '../../core/ai/route-table';
import type { RegisteredProvider } from './provider-module';
import { BUILT_IN_PROVIDERS, providerModule } from './registry';

export class RegistryProviderDirectory implements ProviderDirectory {
  private readonly built = new Map<ProviderId, { fingerprint: string; module: RegisteredProvider; provider: ChatProvider }>();

  private readonly providers: () => readonly RegisteredProvider[];

  constructor(
    private readonly credentials: CredentialSource,
    /** The providers, or where to read them (they change with runtime provider configurations). */
    providers: readonly RegisteredProvider[] | (() => readonly RegisteredProvider[]) = BUILT_IN_PROVIDERS,
  ) {
    this.providers = typeof providers === 'function' ? providers : () => providers;
  }

  async get(id: ProviderId): Promise<ChatProvider | undefined> {
    const module = providerModule(id, this.providers());
    const entry = module ? await this.credentials.get(id) : undefined;
    if (!module || !entry) return undefined;
    // A runtime configuration may change the module too (an instance's base URL or headers): the module is part of the fingerprint.
    const fingerprint = JSON.stringify(entry.credentials);
    const cached = this.built.get(id);
    if (cached?.fingerprint === fingerprint && cached.module === module) return cached.provider;
    const provider = module.create(entry.credentials);
    this.built.set(id, { fingerprint, module, provider });
    return provider;
  }

  async configured(): Promise<ProviderId[]> {
    const present = await Promise.all(this.providers().map(async ({ id }) => ((await this.credentials.get(id)) ? id : undefined)));
    return present.filter((id): id is ProviderId => id !== undefined);
  }
}
