/**
 * `ProviderDirectory` that builds an openai SDK client per provider from its current credentials,
 * and rebuilds it only when the credentials change (for example after a secret rotation).
 */
import OpenAI, { AzureOpenAI } from 'openai';
import type { ChatProvider, ProviderDirectory } from '../../core/ai/ports';
import { PROVIDER_IDS, type ProviderId } from '../../core/ai/route-table';
import type { CredentialSource, ProviderCredentials } from './credentials';
import { OpenAiSdkProvider, providerFetch } from './openai-sdk-provider';

function buildClient(entry: ProviderCredentials): OpenAI {
  const common = { maxRetries: 0, fetch: providerFetch };
  if (entry.provider === 'openai') {
    const { apiKey, baseURL, organization, project } = entry.credentials;
    return new OpenAI({ ...common, apiKey, baseURL: baseURL ?? 'https://api.openai.com/v1', organization: organization ?? null, project: project ?? null });
  }
  const { apiKey, endpoint, apiVersion } = entry.credentials;
  // baseURL instead of `endpoint`: the SDK would otherwise also read OPENAI_BASE_URL meant for OpenAI.
  return new AzureOpenAI({ ...common, apiKey, apiVersion, baseURL: `${endpoint.replace(/\/+$/, '')}/openai` });
}

export class SdkProviderDirectory implements ProviderDirectory {
  private readonly built = new Map<ProviderId, { fingerprint: string; provider: ChatProvider }>();

  constructor(private readonly credentials: CredentialSource) {}

  async get(id: ProviderId): Promise<ChatProvider | undefined> {
    const entry = await this.credentials.get(id);
    if (!entry) return undefined;
    const fingerprint = JSON.stringify(entry.credentials);
    const cached = this.built.get(id);
    if (cached?.fingerprint === fingerprint) return cached.provider;
    const provider = new OpenAiSdkProvider(id, buildClient(entry));
    this.built.set(id, { fingerprint, provider });
    return provider;
  }

  async configured(): Promise<ProviderId[]> {
    const present = await Promise.all(PROVIDER_IDS.map(async (id) => ((await this.credentials.get(id)) ? id : undefined)));
    return present.filter((id): id is ProviderId => id !== undefined);
  }
}
