import { RegistryProviderDirectory } from '../../../../lambdas/adapters/providers/registry-provider-directory';
import type { CredentialSource, ProviderCredentials } from '../../../../lambdas/core/ai/ports';
import type { ProviderId } from '../../../../lambdas/core/ai/route-table';

/** Credentials that can change between calls, as a rotated secret does. */
class MutableCredentials implements CredentialSource {
  constructor(public values: Partial<Record<ProviderId, ProviderCredentials>>) {}
  async get(provider: ProviderId) {
    return this.values[provider];
  }
}

describe('RegistryProviderDirectory', () => {
  it('builds one client per provider and reuses it while the credentials stay the same', async () => {
    const credentials = new MutableCredentials({ openai: { provider: 'openai', credentials: { apiKey: 'sk-1' } } });
    const directory = new RegistryProviderDirectory(credentials);
    const first = await directory.get('openai');
    expect(first?.id).toBe('openai');
    expect(await directory.get('openai')).toBe(first);
    expect(await directory.get('azure-openai')).toBeUndefined();
    expect(await directory.configured()).toEqual(['openai']);
  });

  it('rebuilds the client after the credentials rotate', async () => {
    const credentials = new MutableCredentials({ openai: { provider: 'openai', credentials: { apiKey: 'sk-1' } } });
    const directory = new RegistryProviderDirectory(credentials);
    const before = await directory.get('openai');
    credentials.values.openai = { provider: 'openai', credentials: { apiKey: 'sk-2' } };
    const after = await directory.get('openai');
    expect(after).not.toBe(before);
    expect(after?.id).toBe('openai');
  });
});
